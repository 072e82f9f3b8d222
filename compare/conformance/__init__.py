"""PyTorch's own derivatives, checked: its operator database (`op_db`) run symbolically and in every mode.

- `run.py`: every OpInfo's samples in reverse mode, and the command line (`python -m compare.conformance`);
- `samples.py`: which samples, each run on real and on symbolic tensors;
- `modes.py`: a sample's loss in each of autograd's modes against its exact derivatives;
- `record.py`, `report.py`: docs/opdb.json, docs/conformance.json and docs/conformance.md;
- `bugs.py` and `torch_bugs/`: the PyTorch bugs found, each with a torch-only repro;
- `coverage.py`: docs/ops.md, the ATen ops with a SymPy meaning (`python -m compare.conformance.coverage`).
"""
