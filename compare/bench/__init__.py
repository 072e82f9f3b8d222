"""The benchmark behind BENCHMARKS.md (`python -m compare bench`): speed and memory, as medians.

- `run.py`: start-up against the import floor, scaling with the input's size, the notes' exploration,
  and `main`, which runs every measure and writes the page;
- `calls.py`: one call against torch's own checks (gradcheck, gradgradcheck), stage by stage;
- `modules.py`: real modules (LSTM, GRU, attention, image losses) against gradcheck + gradgradcheck;
- `page.py`: the records the measures are kept in, and BENCHMARKS.md made from them.
"""
