"""Stage 4, the judge: torch's numbers against the exact values it is handed, and the statuses.

It runs nothing and derives nothing (tests/test_stages.py): `at_point` hands it the exact values
(`pieces.values`) and torch's numbers (`numeric`: autograd's runs, `numeric.mode_numbers` for the
other modes, `numeric.oracles` for forward mode and finite differences). `point_status.py` decides
reverse mode's status (PyTorch's rules at kinks from `kinks/`); `modes.py` every other mode's
(`first_order.py`, `second_order.py`, `failures.py` where torch cannot run one, `mode_common.py` the
comparison and the rule at a kink); `forward_and_fd.py` the oracles' table.
"""
