"""The :class:`Allocation` record and its audit log.

An allocation is a table (one row per person: id, arm, stratum, cluster, batch,
block, one ``prob_<arm>`` column per arm) and an audit log (the design, every
batch's seed, the input fingerprint, library versions, timestamps). Written to
disk it is two files, ``allocation.csv`` and ``allocation.csv.audit.json``; the
log holds the SHA-256 of the table file and of itself, so any later edit is
detected on reading, and :meth:`Allocation.verify` re-draws every batch from its
recorded seed (and checks the registered commitment).
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.assignments import RecordedDesign
from dwp_eval._core.contract import ResultMixin, to_plain
from dwp_eval._validation import (
    _fmt_list,
    arm_keys,
    as_column_list,
    check_columns,
    check_data,
    check_seed,
    check_unique,
)
from dwp_eval.design import _engine as eng
from dwp_eval.design._audit_log import (
    COMMITMENT_RE,
    batch_chain,
    commitment_of,
    now,
    read_allocation,
    write_allocation,
)
from dwp_eval.design._checks import as_dtype, compare_columns
from dwp_eval.errors import ColumnError, DesignError, OptionError, VerificationError
from dwp_eval.monitor.balance import balance
from dwp_eval.results import BalanceTable

__all__ = ["Allocation"]


@dataclass(frozen=True, eq=False, repr=False)
class Allocation(ResultMixin):
    """A randomised allocation and its audit log. Immutable.

    Create one with :func:`dwp_eval.randomise` or :meth:`Allocation.read`; add
    people referred later with :meth:`extend`, which returns a new allocation.

    Attributes
    ----------
    table
        One row per person: the id column, ``arm``, ``stratum`` (if stratified),
        ``cluster`` (if clustered), ``batch``, ``block`` and ``block_size`` (if
        permuted blocks were used), and ``prob_<arm>`` for every arm: the exact
        probability that this person was assigned to that arm.
    seed
        The seed of the first batch (an int, or the recorded state of the
        ``numpy.random.Generator`` that was passed).
    fingerprint
        SHA-256 of the sorted ids with their strata, cluster and arrival order.
    metadata
        The audit log as a dict (design, arms and ratios, batches, versions, times).
    """

    _table: pd.DataFrame
    _log: Mapping[str, Any]

    # ------------------------------------------------------------- accessors
    @property
    def table(self) -> pd.DataFrame:
        """The allocation table (a copy: changing it never changes the allocation)."""
        return self._table.copy()

    @property
    def metadata(self) -> dict[str, Any]:
        """The audit log (a deep, plain copy: dicts and lists)."""
        return dict(to_plain(self._log))

    @property
    def seed(self) -> int | dict[str, Any]:
        """The first batch's seed: the int given, or the generator state recorded."""
        rec = self._log["batches"][0]["seed"]
        return int(rec["seed"]) if rec["kind"] == "int" else dict(to_plain(rec))

    @property
    def fingerprint(self) -> str:
        """SHA-256 fingerprint of every allocated person's id, stratum, cluster and order."""
        return str(self._log["fingerprint"])

    @property
    def commitment(self) -> str:
        """SHA-256 of the canonical design, the first seed and the population fingerprint.

        Register it with the trial (the ISRCTN record, the analysis plan) before
        anyone sees the allocation; ``verify(data, commitment=...)`` then shows
        that this allocation is the one committed to, not a re-draw under another
        seed. See the randomisation guide for its limits.
        """
        return str(self._log["commitment"])

    @property
    def arms(self) -> tuple[str, ...]:
        """The arm names, in the order given to :func:`randomise`."""
        return tuple(self._log["design"]["arms"])

    @property
    def control(self) -> str:
        """The control arm: ``"control"`` if there is one, otherwise the first arm."""
        return str(self._log["design"]["control"])

    @property
    def id(self) -> str:
        """The name of the id column."""
        return str(self._log["design"]["id"])

    @property
    def design(self) -> str:
        """``complete``, ``stratified``, ``cluster`` or ``stratified-cluster``."""
        return str(self._log["design"]["label"])

    @property
    def n(self) -> int:
        """Number of people allocated."""
        return len(self._table)

    @property
    def _design(self) -> eng.Design:
        return eng.Design.from_json(self._log["design"])

    # ------------------------------------------------------------- display
    def counts(self) -> pd.DataFrame:
        """People per arm, overall and by stratum (rows) if stratified."""
        t = self._table
        if "stratum" in t.columns:
            out = pd.crosstab(t["stratum"], t["arm"], dropna=False)
        else:
            out = t["arm"].value_counts(sort=False).to_frame().T
            out.index = pd.Index(["all"], name="stratum")
        return out.reindex(columns=list(self.arms), fill_value=0).rename_axis(columns="arm")

    def to_frame(self) -> pd.DataFrame:
        """The allocation table (same as :attr:`table`)."""
        return self.table

    def summary(self) -> str:
        """A readable account of the design, the counts and the audit record."""
        log = self._log
        d = log["design"]
        arms = d["arms"]
        ratio = ":".join(f"{v:g}" for v in arms.values())
        counts = self._table["arm"].value_counts(sort=False).reindex(list(arms), fill_value=0)
        methods: list[str] = []
        for b in log["batches"]:  # e.g. "complete, then permuted blocks" after extend
            m = str(b.get("method", d["method"])).replace("_", " ")
            if m not in methods:
                methods.append(m)
        lines = [
            f"Allocation ({d['label']} randomisation, {', then '.join(methods)})",
            f"  people          {self.n:,}",
        ]
        if d["cluster"] is not None:
            lines.append(f"  clusters        {self._table['cluster'].nunique():,} (column {d['cluster']!r})")
        if d["strata"]:
            lines.append(
                f"  strata          {self._table['stratum'].nunique():,} (columns {', '.join(d['strata'])})"
            )
        lines.append(f"  arms            {', '.join(arms)} in ratio {ratio} (control: {d['control']})")
        for arm, c in counts.items():
            lines.append(f"    {arm:<14}{c:>10,}  ({c / max(self.n, 1):.1%})")
        probs = ", ".join(f"{a} {p:.4g}" for a, p in zip(arms, self._design.probabilities, strict=True))
        lines.append(f"  probabilities   {probs} (exact, every person)")
        if d["rerandomise"] is not None:
            b0 = log["batches"][0]
            lines.append(
                f"  re-randomised   accepted on draw {b0['draws']:,} "
                f"(rule: |std diff| < {d['rerandomise']['max_abs_std_diff']} on "
                f"{', '.join(d['rerandomise']['covariates'])}); use randomisation tests"
            )
        lines.append(f"  batches         {len(log['batches'])}")
        for b in log["batches"]:
            s = b["seed"]
            seed_txt = str(s["seed"]) if s["kind"] == "int" else f"{s['bit_generator']} state"
            lines.append(
                f"    batch {b['batch']}: {b['n']:,} people, {b['method'].replace('_', ' ')}, "
                f"seed {seed_txt}, {b['created']}"
            )
        lines.append(f"  fingerprint     {self.fingerprint}")
        lines.append(f"  commitment      {self.commitment}")
        lines.append("                  (register it with the trial before anyone sees the allocation)")
        lines.append(f"  dwp_eval        {log['library']['dwp_eval']} (numpy {log['library']['numpy']})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<Allocation {self._log['design']['label']}: {self.n:,} people, "
            f"arms {', '.join(self.arms)}, fingerprint {self.fingerprint[:12]}>"
        )

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return (
            "<pre>" + self.summary().replace("&", "&amp;").replace("<", "&lt;") + "</pre>"
            + self.counts().to_html()
        )

    # ------------------------------------------------------------- I/O
    def write(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the table (CSV) and its audit log (``<file name>.audit.json``, e.g.
        ``allocation.csv.audit.json``).

        Both files are written together, all or none: each goes to a temporary
        file in the same folder and is renamed into place while the folder is
        locked against other writers, so a killed write never damages the
        previous allocation and two writers never leave a mismatched pair. Text
        cells that a spreadsheet would run as a formula (starting ``=``, ``+``,
        ``-``, ``@``, tab or carriage return) are written with a leading ``'``,
        which :meth:`read` removes.

        Refuses to replace an existing allocation unless ``overwrite=True``; when
        it does replace one, the new log records the checksum of the file it
        replaced, so nothing is overwritten silently. Never writes through a
        symbolic link, even with ``overwrite=True``.

        Returns the path of the audit log.

        Raises
        ------
        AllocationExistsError
            The table or its log exists and ``overwrite`` is false.
        OutputPathError
            ``path`` or its log is a symbolic link, or another process keeps
            writing in the folder.
        """
        return write_allocation(self._table.copy(), to_plain(self._log), path, overwrite=overwrite)

    @classmethod
    def read(cls, path: str | os.PathLike[str], *, check_integrity: bool = True) -> Allocation:
        """Read an allocation written by :meth:`write`.

        Raises :class:`~dwp_eval.errors.AllocationIntegrityError`, naming the
        file and the fix, if either file is damaged (empty, truncated, not UTF-8,
        a missing entry or column, an arm that is not in the design, an id not of
        its recorded type) or was edited after writing: the table's checksum, the
        log's own hash (every field: counts, ``n``, timestamps, seeds, design,
        versions), the batch chain and the log's counts are checked.
        ``check_integrity=False`` skips the checks of hashes and counts (a damaged
        file still raises), e.g. to see with :meth:`verify` which rows differ.
        """
        table, log = read_allocation(path, check_integrity=check_integrity)
        return cls(table, log)

    # ------------------------------------------------------------- checks
    def verify(self, data: pd.DataFrame, *, commitment: str | None = None) -> None:
        """Re-run the allocation from its audit log and raise if anything differs.

        ``data`` must hold every allocated person (and nobody else) with the
        columns the design used (id, strata, cluster, arrival order, and the
        re-randomisation covariates). Each batch is re-drawn from its recorded
        seed, in order, and every column of the table (id, arm, stratum,
        cluster, batch, block, probabilities) is compared with the re-drawn one.

        ``commitment``, the value registered with the trial before anyone saw the
        allocation (:attr:`commitment`), is recomputed from the recorded design,
        the first seed and the fingerprint of ``data``: an allocation re-drawn
        under another seed (or design, or population), however consistently its
        files were rewritten, does not match it.

        Raises
        ------
        VerificationError
            If the people, their strata or clusters differ from those allocated,
            a re-drawn value differs from the table, or the allocation does not
            match ``commitment``.
        """
        func = "Allocation.verify"
        given_commitment = None
        if commitment is not None:
            m = COMMITMENT_RE.match(str(commitment).strip().lower())
            if m is None:
                raise OptionError(
                    f"The 'commitment' parameter of {func} must be the 64 hexadecimal digits of "
                    f"a SHA-256 (as printed by randomise). Got {commitment!r} instead."
                )
            given_commitment = m.group(1)
        data = check_data(data, func=func)
        design = self._design
        log = self._log
        tab = self._table
        ratios = dict(zip(design.arms, design.ratios, strict=True))
        if eng.ratio_weights(ratios, func)[2] != design.weights:
            # the draws use the weights, the summary shows the ratios: they must agree
            raise VerificationError(
                f"{func}: the audit log's arm ratios {ratios} do not reduce to its whole-number "
                f"weights {list(design.weights)}; the audit log has been edited."
            )
        id_name = design.id
        check_columns(data, [id_name], role="id", func=func)
        keys = eng.coerce_keys(data[id_name], log["id_kind"], role="id", func=func)
        tab_ids = eng.coerce_keys(tab[id_name], log["id_kind"], role="id", func=func)
        given, allocated = set(keys.tolist()), set(tab_ids.tolist())
        if given != allocated:
            missing = sorted(allocated - given, key=str)
            extra = sorted(given - allocated, key=str)
            problems = []
            if missing:
                problems.append(
                    f"{len(missing):,} allocated id(s) are missing from the data "
                    f"(e.g. {_fmt_list(missing[:5], 5)})"
                )
            if extra:
                problems.append(
                    f"{len(extra):,} id(s) in the data were never allocated "
                    f"(e.g. {_fmt_list(extra[:5], 5)})"
                )
            raise VerificationError(
                f"{func}: the data do not hold the people allocated: {' and '.join(problems)}. "
                "Fix: pass exactly the participants file that was randomised (all batches)."
            )
        batch_of = tab["batch"].to_numpy()
        state: dict[str, eng.OpenBlock] = {}
        next_block: dict[str, int] = {}
        redrawn: list[pd.DataFrame] = []
        batch_fps: list[str] = []
        for b in log["batches"]:
            rows = np.flatnonzero(batch_of == b["batch"])
            sub = data[np.isin(keys, tab_ids[rows])]
            earlier = pd.concat(redrawn, ignore_index=True) if redrawn else tab.iloc[:0]
            rec = to_plain(b)
            d_table, state, next_block, fp = eng.draw_batch(
                sub, design, log, rec, earlier, state, next_block, func=func
            )
            if fp != b["fingerprint"]:
                used = [c for c in (id_name, *design.strata, design.cluster, design.order) if c]
                raise VerificationError(
                    f"{func}: batch {b['batch']}'s people match the log but some of their values "
                    f"in columns {_fmt_list(used)} have changed since allocation (fingerprint "
                    f"{fp[:12]}..., log {b['fingerprint'][:12]}...). Fix: pass the participants "
                    "data as they were when randomised."
                )
            batch_fps.append(fp)
            redrawn.append(d_table)
        if eng.chain_fingerprint(batch_fps) != log["fingerprint"]:
            raise VerificationError(
                f"{func}: the allocation's fingerprint {log['fingerprint'][:12]}... does not "
                "match its batches; the audit log has been edited."
            )
        first = log["batches"][0]
        redrawn_commitment = commitment_of(log["design"], first["seed"], batch_fps[0])
        if redrawn_commitment != log.get("commitment"):
            raise VerificationError(
                f"{func}: the audit log's commitment {str(log.get('commitment'))[:16]}... is not "
                f"the SHA-256 of its design, first seed and people ({redrawn_commitment[:16]}...); "
                "the audit log has been edited."
            )
        if given_commitment is not None and given_commitment != redrawn_commitment:
            raise VerificationError(
                f"{func}: this allocation does not match the registered commitment "
                f"{given_commitment[:16]}...: its design, first seed and people hash to "
                f"{redrawn_commitment[:16]}.... It was drawn with another seed, design or "
                "population than the one registered (e.g. re-randomised and both files "
                "replaced). Fix: use the allocation whose commitment was registered."
            )
        again = pd.concat(redrawn, ignore_index=True)
        again_keys = eng.coerce_keys(again[id_name], log["id_kind"], role="id", func=func)
        pos = pd.Series(np.arange(len(again)), index=again_keys).loc[tab_ids].to_numpy()
        compare_columns(tab, again.iloc[pos].reset_index(drop=True), design, func=func)

    def recorded_design(self, data: pd.DataFrame, *, assigned: Hashable, func: str) -> RecordedDesign:
        """The design as recorded, for the rows of ``data`` (joined by the id column):
        each row's stratum, randomisation cell (stratum, batch, permuted block) and
        cluster, the arms and any re-randomisation rule. This is what
        :func:`dwp_eval.randomisation_test` re-draws from with ``allocation=``.

        Raises :class:`DesignError` when ``data`` holds ids never allocated or an arm
        in ``assigned`` that differs from the allocated one.
        """
        design = self._design
        log = self._log
        table = self._table
        id_col = design.id
        if id_col not in data.columns:
            raise ColumnError(
                f"{func}: column {id_col!r} (the allocation's id) is not in the data. Columns "
                f"present: {_fmt_list(data.columns)}. Fix: pass the data with the id column used "
                "at randomisation."
            )
        check_unique(data, id_col, role="id", func=func)
        keys = eng.coerce_keys(data[id_col], log["id_kind"], role="id", func=func)
        tab_keys = eng.coerce_keys(table[id_col], log["id_kind"], role="id", func=func)
        index = pd.Index(tab_keys.astype(str) if log["id_kind"] == "str" else tab_keys)
        pos = index.get_indexer(keys.astype(str) if log["id_kind"] == "str" else keys)
        if np.any(pos < 0):
            extra = data[id_col].to_numpy()[pos < 0][:5].tolist()
            raise DesignError(
                f"{func}: {int(np.sum(pos < 0)):,} id(s) in the data were never allocated (e.g. "
                f"{_fmt_list(extra, 5)}). Fix: pass only the people in the allocation."
            )
        # arm labels compared by value (label_key): 0, 0.0 and "0" are one label
        arm_tab = arm_keys(table["arm"]).fillna("").to_numpy(dtype=object)[pos]
        given = data[assigned]
        differ = given.notna().to_numpy() & (
            arm_keys(given).fillna("").to_numpy(dtype=object) != arm_tab
        )
        if differ.any():
            eg = [
                f"{data[id_col].iloc[i]}: {given.iloc[i]!r} vs allocated {arm_tab[i]!r}"
                for i in np.flatnonzero(differ)[:3]
            ]
            raise DesignError(
                f"{func}: column {assigned!r} (assigned) disagrees with the allocation for "
                f"{int(differ.sum()):,} person(s) ({'; '.join(eg)}). Fix: pass the arm column "
                "of the allocation, or the allocation the data were randomised by."
            )
        stratum = (
            table["stratum"].astype(str).to_numpy()
            if "stratum" in table.columns
            else np.full(len(table), "all", dtype=object)
        )
        batch = (
            table["batch"].astype(np.int64).to_numpy()
            if "batch" in table.columns
            else np.zeros(len(table), np.int64)
        )
        if "block" in table.columns:
            blk = table["block"].astype("Int64")
            block = np.where(blk.isna().to_numpy(), "-", blk.astype(str).to_numpy(na_value="-"))
        else:
            block = np.full(len(table), "-", dtype=object)
        cell = pd.Series([f"{s}|{b}|{k}" for s, b, k in zip(stratum, batch, block, strict=True)])
        cluster = None
        if design.cluster is not None:
            cluster = table["cluster"].astype(str).to_numpy()
            # a cluster's cell is where it was first allocated (later joiners inherit its arm)
            frame = pd.DataFrame(
                {"cluster": cluster, "batch": batch, "has_block": block != "-", "cell": cell}
            )
            first = frame.sort_values(["batch", "has_block"], ascending=[True, False], kind="stable")
            first = first.drop_duplicates("cluster")
            cell = pd.Series(frame["cluster"].map(first.set_index("cluster")["cell"]).to_numpy())
        methods = {b["method"] for b in log["batches"]}
        rule = design.rule
        return RecordedDesign(
            label=design.label
            + (", permuted blocks" if "permuted_blocks" in methods else "")
            + (", re-randomised" if rule is not None else ""),
            stratum=stratum[pos],
            cell=cell.to_numpy()[pos],
            cluster=None if cluster is None else cluster[pos],
            has_strata=bool(design.strata),
            arms=tuple(design.arms),
            control=design.control,
            rule_covariates=() if rule is None else tuple(rule.covariates),
            rule_bound=float("inf") if rule is None else float(rule.max_abs_std_diff),
            rule_max_draws=1 if rule is None else int(rule.max_draws),
            all_ids_present=len(set(pos.tolist())) == len(table),
        )

    def balance(self, data: pd.DataFrame, covariates: Sequence[Hashable]) -> BalanceTable:
        """Baseline balance of ``covariates`` across arms (means, SDs, standardised
        differences, variance ratios), with ``data`` joined to the table by id."""
        func = "Allocation.balance"
        data = check_data(data, func=func)
        if self.id not in data.columns:
            raise ColumnError(
                f"{func}: column {self.id!r} (id) is not in the data. Columns present: "
                f"{_fmt_list(data.columns)}. Fix: pass the participants data the allocation was made from."
            )
        covs = as_column_list(covariates)
        design = self.metadata.get("design", {})
        # the omnibus test follows the design: stratum fixed effects, clusters as randomised
        strata = "stratum" if design.get("strata") and "stratum" in self._table.columns else None
        cluster = design.get("cluster") or None
        keep = [self.id, "arm"] + ([strata] if strata else [])
        tab = self._table[keep]
        merged = data.drop(
            columns=[c for c in ("arm", "stratum") if c in data.columns and c not in covs]
        ).merge(tab, on=self.id, how="inner", validate="one_to_one")
        if len(merged) < len(tab):
            raise ColumnError(
                f"{func}: {len(tab) - len(merged):,} allocated id(s) are not in the data. "
                "Fix: pass the participants data the allocation was made from."
            )
        if cluster is not None and cluster not in merged.columns:
            raise ColumnError(
                f"{func}: the allocation randomised clusters of column {cluster!r}, which is not "
                "in the data. Fix: pass the participants data the allocation was made from."
            )
        return balance(merged, assigned="arm", covariates=covs, control=self.control,
                       strata=strata, cluster=cluster)

    # ------------------------------------------------------------- rolling allocation
    def extend(
        self,
        new_people: pd.DataFrame,
        *,
        seed: int | np.random.Generator,
        block_sizes: Sequence[int] | None = None,
    ) -> Allocation:
        """Allocate people referred later, without changing anyone already allocated.

        New people are allocated by permuted blocks within their stratum,
        continuing the stratum's last unfilled block (so the ratio stays tight
        however small each batch is). In a cluster design, a new person in a
        cluster that was already allocated gets that cluster's arm; new clusters
        are allocated in permuted blocks of clusters. The batch, its seed and its
        fingerprint are added to the audit log. Returns a new :class:`Allocation`.

        Raises
        ------
        DesignError
            If any id in ``new_people`` was already allocated (never re-drawn).
        """
        func = "Allocation.extend"
        new_people = check_data(new_people, func=func, param="new_people")
        design = self._design
        log = to_plain(self._log)
        if design.rule is not None:
            raise DesignError(
                f"{func}: this allocation was re-randomised as a whole, so people cannot be "
                "added to it by rolling allocation. Fix: randomise the new people as a separate "
                "allocation."
            )
        rng = check_seed(seed, func=func)  # a passed Generator is used, so it advances
        if block_sizes is not None:
            base = design.base_block
            bad = [s for s in block_sizes if int(s) % base or int(s) <= 0]
            if bad:
                raise OptionError(
                    f"The 'block_sizes' parameter of {func} must hold positive multiples of {base}. "
                    f"Got {list(block_sizes)!r} instead."
                )
        prep_probe = eng.prepare(
            new_people, design, func=func, id_kind=log["id_kind"], cluster_kind=log.get("cluster_kind")
        )
        tab_ids = eng.coerce_keys(self._table[design.id], log["id_kind"], role="id", func=func)
        already = np.isin(prep_probe.ids, tab_ids)
        if already.any():
            eg = prep_probe.ids[already][:5].tolist()
            raise DesignError(
                f"{func}: {int(already.sum()):,} id(s) in new_people are already allocated "
                f"(e.g. {_fmt_list(eg, 5)}); an allocated person is never re-drawn. Fix: pass "
                "only people who have not been randomised."
            )
        batch_no = len(log["batches"])
        sizes = None if block_sizes is None else sorted({int(s) for s in block_sizes})
        if sizes is None:
            sizes = list(design.block_sizes) if design.block_sizes else [design.base_block * k for k in (1, 2, 3)]
        rec = {
            "batch": batch_no,
            "method": "permuted_blocks",
            "block_sizes": sizes,
            "seed": eng.seed_record(seed),
            "created": now(),
        }
        state, next_block = eng.block_state(self._table, design)
        new_table, _, _, fp = eng.draw_batch(
            new_people, design, log, rec, self._table, state, next_block, func=func, rng=rng
        )
        rec["n"] = len(new_table)
        rec["fingerprint"] = fp
        rec["chain"] = batch_chain(str(log["batches"][-1]["chain"]), rec)
        log["batches"].append(rec)
        new_table[design.id] = as_dtype(new_table[design.id], self._table[design.id].dtype, func=func)
        if design.cluster is not None:
            new_table["cluster"] = as_dtype(new_table["cluster"], self._table["cluster"].dtype, func=func)
        table = pd.concat([self._table.copy(), new_table], ignore_index=True)
        for col in (design.id, "cluster"):
            if col in table.columns and isinstance(self._table[col].dtype, pd.CategoricalDtype):
                table[col] = table[col].astype("category")
        for col in ("block", "block_size"):
            if col in table.columns:
                table[col] = table[col].astype("Int64")
        table["arm"] = pd.Categorical(table["arm"], categories=list(design.arms))
        if "stratum" in table.columns:
            table["stratum"] = pd.Categorical(table["stratum"].astype(str), categories=sorted(set(table["stratum"].astype(str))))
        log["n"] = len(table)
        log["fingerprint"] = eng.chain_fingerprint([b["fingerprint"] for b in log["batches"]])
        log["counts"] = {a: int((table["arm"] == a).sum()) for a in design.arms}
        for key in ("table_sha256", "table_file", "log_sha256", "written"):
            log.pop(key, None)
        return Allocation(table, log)

