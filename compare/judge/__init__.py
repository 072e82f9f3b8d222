"""Stage 4, the verdict: torch's numbers against the exact values, and each point's status.

The judge compares what the stages below gathered, and runs nothing: the exact values and the
references each mode is held to come from `compare.pieces`, the values PyTorch's rules allow at a
kink from `compare.kinks`, torch's numbers from `compare.numeric` (the modes' as
`numeric.mode_numbers.ModeNumbers`), and agreement is
`compare.agreement`'s one comparison.

- `point_status.py`: reverse mode's status at a point, kinks and piece boundaries included;
- `forward_and_fd.py`: forward mode and finite differences beside it;
- `modes.py`: every other mode (`first_order.py`, `second_order.py`; `failures.py` where torch cannot
  run one; `mode_common.py` what they share, the kink rules for each mode's quantity among it).
"""
