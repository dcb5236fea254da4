"""HiGHS through highspy's public API: a quiet solver, a model from rows, a run within a deadline.

Measured on tables 3/4 (scripts/benchmark_locate.py): for programs this small HiGHS spends most
of its time in presolve and the feasibility-jump heuristic, and a thread pool only adds hand-offs
(batch workers run one per core already).
"""

from __future__ import annotations

import time

import highspy
import numpy as np

from xltools.locate.outcome import FAILED, TIMEOUT

INF = highspy.kHighsInf
OPTIMAL, NONE = "optimal", "none"  # what a run gives besides TIMEOUT and FAILED
SMALL = 40  # cells: below this, presolve solves the program outright and pays off

_OPTIONS = (
    ("threads", 1),
    ("presolve", "off"),
    ("mip_heuristic_run_feasibility_jump", False),
    ("mip_rel_gap", 0.0),
    ("mip_abs_gap", 1e-7),
)
_STATES = {
    highspy.HighsModelStatus.kOptimal: OPTIMAL,
    highspy.HighsModelStatus.kInfeasible: NONE,
    highspy.HighsModelStatus.kTimeLimit: TIMEOUT,
}


class Solver(highspy.Highs):
    """A HiGHS instance that prints nothing: `check --json` must print only JSON on stdout.

    highspy's `Highs` writes HiGHS's banner to the process's stdout at its first call after
    construction (its `enableCallbacks`) unless output is off by then; this is the one place
    that can switch it off first."""

    def enableCallbacks(self) -> None:
        self.setOptionValue("output_flag", False)
        super().enableCallbacks()


def new_solver() -> Solver:
    h = Solver()
    for name, value in _OPTIONS:
        h.setOptionValue(name, value)
    return h


def model(
    cost: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    idx: list[np.ndarray],
    val: list[np.ndarray],
    lo: list[float],
    up: list[float],
    integer: list[bool],
    presolve: bool,
) -> Solver:
    """A HiGHS model of the rows idx/val between lo and up; `integer` per column."""
    h = new_solver()
    if presolve:
        h.setOptionValue("presolve", "on")
    lp = highspy.HighsLp()
    lp.num_col_ = len(cost)
    lp.num_row_ = len(lo)
    lp.col_cost_ = np.asarray(cost, dtype=np.double)
    lp.col_lower_ = np.asarray(col_lower, dtype=np.double)
    lp.col_upper_ = np.asarray(col_upper, dtype=np.double)
    lp.row_lower_ = np.array(lo, dtype=np.double)
    lp.row_upper_ = np.array(up, dtype=np.double)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum([len(c) for c in idx])]).astype(np.int32)
    lp.a_matrix_.index_ = (np.concatenate(idx) if idx else np.array([])).astype(np.int32)
    lp.a_matrix_.value_ = (np.concatenate(val) if val else np.array([])).astype(np.double)
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer
    ]
    h.passModel(lp)
    return h


def run(h: Solver, deadline: float) -> str:
    """Solve `h` within what is left of the time: OPTIMAL, NONE (infeasible), TIMEOUT or
    FAILED."""
    left = deadline - time.monotonic()
    if left <= 0:
        return TIMEOUT
    h.setOptionValue("time_limit", left)
    h.run()
    return _STATES.get(h.getModelStatus(), FAILED)


def stopped_by_time(h: Solver) -> bool:
    return h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit


def has_solution(h: Solver) -> bool:
    """A feasible point is known (stopped by a limit, the best way found so far)."""
    return h.getInfo().primal_solution_status == highspy.kSolutionStatusFeasible


def values(h: Solver) -> np.ndarray:
    return np.asarray(h.getSolution().col_value)


def objective(h: Solver) -> float:
    return float(h.getInfo().objective_function_value)


def set_integer(h: Solver, cols: np.ndarray, integer: bool) -> None:
    kind = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
    h.changeColsIntegrality(len(cols), cols, np.array([kind] * len(cols)))
