"""Say which cell is wrong: minimal-change error localisation (the Fellegi–Holt principle).

When table 3 does not balance, several rules fail at once. The cells to blame are the set of
least total weight whose change makes every relation of the form hold again, with every count a
whole number >= 0. The relations are read from the form's own rule objects, never retyped here;
cells whose value is unknown (blank, placeholder, unusable) or computed by the template's
formula are free variables: not candidates, no cost. Weights and limits live in the form
definition (`[locate]` in xltools/forms/<form>.toml).

The rooms, each owning one thing (docs/locate.md tells the whole method):

    relations.py  the form's relations from the rule objects; groups that share no cell
    cells.py      how each cell enters: observed value, weight ([locate] settings), classify()
    problem.py    one part to localise (Problem): computed cells substituted out, the covers,
                  a program's values read back as a way
    outcome.py    what the answer is: Change, Solution, Outcome and their statuses
    highs.py      HiGHS through highspy's public API
    covers.py     the small 0/1 programs over the cover cells
    search.py     the search: one-cell ways, then sets of cover cells, each tried (Fitter)
    whole.py      the whole program: the fallback, ties by no-good cuts
    solve.py      localise(): every part, the search first, the whole program where needed
    after.py      what holds once a way is applied (the ground of every "enough" the
                  messages say)
    wording.py    locate_findings(): the findings and their messages
"""

from xltools.locate.cells import (
    FLAGGED,
    FORMULA,
    OVERWRITTEN_TOTAL,
    PART,
    TYPED_TOTAL,
    UNKNOWN,
    Cell,
    Settings,
    classify,
    settings,
)
from xltools.locate.outcome import (
    FAILED,
    LOCATED,
    TIED,
    TIMEOUT,
    TOO_MANY,
    Change,
    Outcome,
    Solution,
)
from xltools.locate.relations import Relation, hard_relations, relations
from xltools.locate.solve import localise
from xltools.locate.wording import RULE, locate_findings, texts

__all__ = [
    "FAILED",
    "FLAGGED",
    "FORMULA",
    "LOCATED",
    "OVERWRITTEN_TOTAL",
    "PART",
    "RULE",
    "TIED",
    "TIMEOUT",
    "TOO_MANY",
    "TYPED_TOTAL",
    "UNKNOWN",
    "Cell",
    "Change",
    "Outcome",
    "Relation",
    "Settings",
    "Solution",
    "classify",
    "hard_relations",
    "localise",
    "locate_findings",
    "relations",
    "settings",
    "texts",
]
