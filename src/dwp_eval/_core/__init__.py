"""The ground floor: the statistics every part of the library shares.

Private: nothing here is public API, and nothing here imports anything above
it (``results``, the lifecycle folders, ``report``, ``trial``, ``cli``).
One module per concern:

* :mod:`~dwp_eval._core.linalg`: (weighted) least squares with absorbed strata, leverages;
* :mod:`~dwp_eval._core.variance`: HC0-HC3, CR0-CR2 with Bell-McCaffrey df, one lookup
  table, and the batched Wald statistics of many outcomes at once;
* :mod:`~dwp_eval._core.wald`: the one Wald test (and t intervals);
* :mod:`~dwp_eval._core.sample`: the one sample preparation every estimator takes;
* :mod:`~dwp_eval._core.regression`: the regression of an outcome on assignment (Lin 2013);
* :mod:`~dwp_eval._core.difference_in_means`: the design-based difference in means;
* :mod:`~dwp_eval._core.assignments`: re-drawing assignments as the design drew them;
* :mod:`~dwp_eval._core.inversion`: p-value functions and intervals by test inversion;
* :mod:`~dwp_eval._core.influence`: inference from influence functions, sup-t bands;
* :mod:`~dwp_eval._core.panel`: panel checks, the two-way within transformation, cohorts;
* :mod:`~dwp_eval._core.records`: dates and record helpers for administrative data;
* :mod:`~dwp_eval._core.proportion`: the Wilson interval of a binomial proportion;
* :mod:`~dwp_eval._core.format`: numbers (and p-values) for reading;
* :mod:`~dwp_eval._core.contract`: the result contract (``ResultMixin``).
"""
