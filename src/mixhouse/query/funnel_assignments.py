"""Any-order funnels with anchored steps between free ones (docs/decisions/0029): which free steps may fill which
positions.

The free positions of an any-order funnel form *runs*: maximal stretches of consecutive free positions, separated by
anchored ones. Within one run, filling each position with the earliest usable event of a step not used yet is
optimal (decision 18), but across runs it is not: which free steps are spent before an anchor decides what is left
after it. So the SQL tries every *assignment*, a split of the free steps among the runs (each run gets as many steps
as it has positions), fills each run greedily from its own steps, and keeps the best attempt. The number of
assignments is the multinomial coefficient of the run sizes; funnels needing more than ``MAX_ASSIGNMENTS`` are
refused.
"""

from __future__ import annotations

from itertools import combinations
from math import factorial

#: The most step assignments an any-order funnel may need (each entry is matched once per assignment).
MAX_ASSIGNMENTS = 252


def free_runs(free: frozenset[int], n: int) -> list[list[int]]:
    """The runs of consecutive free positions among positions ``0..n-1``, in order."""
    runs: list[list[int]] = []
    for k in range(n):
        if k not in free:
            continue
        if runs and runs[-1][-1] == k - 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    return runs


def assignment_count(free: frozenset[int], n: int) -> int:
    """How many ways the free steps split among the runs (1 for one run or none)."""
    sizes = [len(run) for run in free_runs(free, n)]
    count = factorial(sum(sizes))
    for size in sizes:
        count //= factorial(size)
    return count


def assignments(free: frozenset[int], n: int) -> list[list[int]]:
    """Every split of the free steps among the runs, each as per-position masks: bit ``s`` of entry ``k`` is set when
    free step ``s`` may fill position ``k`` (0 for anchored positions). One split for one run: the free steps."""
    runs = free_runs(free, n)

    def splits(steps: tuple[int, ...], index: int) -> list[list[tuple[int, ...]]]:
        if index == len(runs):
            return [[]]
        out = []
        for chosen in combinations(steps, len(runs[index])):
            rest = tuple(step for step in steps if step not in chosen)
            out += [[chosen, *more] for more in splits(rest, index + 1)]
        return out

    masks = []
    for split in splits(tuple(sorted(free)), 0):
        mask = [0] * n
        for run, steps in zip(runs, split, strict=True):
            bits = sum(1 << step for step in steps)
            for position in run:
                mask[position] = bits
        masks.append(mask)
    return masks
