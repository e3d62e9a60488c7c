"""Who calls whom: facilities, inmates, called numbers (with owners) and contact lists."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from privguard.internals.synth import draw, places
from privguard.internals.synth.clock import PERIOD_END, PERIOD_START, ZONES, epoch_day

KINDS: tuple[str, ...] = (
    "attorney",
    "public_defender",
    "family",
    "bail_bonds",
    "court",
    "hotline",
    "other",
)
K_ATT, K_PD, K_FAM, K_BAIL, K_COURT, K_HOT, K_OTHER = range(7)
P0, P1 = epoch_day(PERIOD_START), epoch_day(PERIOD_END)


@dataclass
class Facility:
    """One jail: code (as in account prefixes), name, state, IANA zone."""

    code: str
    name: str
    county: str
    state: str
    zone: str
    weight: float
    applies_registry: bool = True

    @property
    def zone_idx(self) -> int:
        return ZONES.index(self.zone)


@dataclass
class Attorney:
    """A private attorney: directory fields and the indexes of their numbers."""

    name: str
    bar_number: str
    firm: str
    numbers: list[int]
    listed: bool


@dataclass
class Population:
    """Everything that does not change from call to call (arrays indexed by id)."""

    facilities: list[Facility]
    ignored_facility: int
    inmate_fac: np.ndarray
    inmate_account: np.ndarray
    inmate_first: np.ndarray
    inmate_last: np.ndarray
    inmate_weight: np.ndarray
    inmate_from: np.ndarray  # first epoch day in custody
    inmate_to: np.ndarray  # last epoch day in custody (exclusive)
    num_digits: np.ndarray  # 10-digit NANP number as int64
    num_kind: np.ndarray
    num_owner_id: np.ndarray  # object: owner id text or None
    num_owner_name: np.ndarray  # object
    num_is_cell: np.ndarray
    num_in_dir: np.ndarray
    reg_from: np.ndarray  # epoch day, -1 = not registered
    reg_until: np.ndarray  # epoch day, -1 = open
    reg_fac: np.ndarray  # facility index, -1 = all facilities
    contact_key: np.ndarray  # sorted: inmate + cumulative weight share within inmate
    contact_num: np.ndarray
    attorneys: list[Attorney] = field(default_factory=list)
    pd_offices: list[tuple[str, list[int]]] = field(default_factory=list)


def sizes(calls: int) -> tuple[int, int]:
    """Number of facilities and inmates for a given number of calls."""
    n_fac = min(20, 8 + int(np.log2(max(calls / 20_000, 1.0))))
    n_inm = max(calls // 1100, min(3000, calls // 25), 40)
    return n_fac, n_inm


def build(rng: np.random.Generator, calls: int) -> Population:
    """Draw the whole population for ``calls`` calls; deterministic for a given generator."""
    n_fac, n_inm = sizes(calls)
    pool = places.FACILITY_POOL[:n_fac]
    fweights = rng.lognormal(0.0, 0.6, size=n_fac)
    fweights /= fweights.sum()
    codes: list[str] = []
    for _, st, _ in pool:
        code = f"{st}{int(rng.integers(1, 99)):02d}"
        while code in codes:
            code = f"{st}{int(rng.integers(1, 99)):02d}"
        codes.append(code)
    facs = [
        Facility(codes[i], nm, draw.county(nm), st, zn, float(fweights[i]))
        for i, (nm, st, zn) in enumerate(pool)
    ]
    # The facility that never applied the registry: a mid-sized one, so it matters.
    ignored = int(np.argsort(fweights)[n_fac // 2])
    facs[ignored].applies_registry = False
    fac_state = np.array([f.state for f in facs])

    inm_fac = rng.choice(n_fac, size=n_inm, p=fweights)
    accounts = 10_000 + rng.choice(9_980_000, size=n_inm, replace=False)
    span = P1 - P0
    start = rng.integers(P0 - span // 2, P1 - 20, size=n_inm)
    length = np.maximum(rng.lognormal(np.log(240), 0.9, size=n_inm), 30).astype(np.int64)
    i_from = np.maximum(start, P0 - 1)
    i_to = np.minimum(np.maximum(start + length, P0 + 20), P1 + 1)

    digits: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    oid: list[np.ndarray] = []
    oname: list[np.ndarray] = []
    cell: list[np.ndarray] = []

    def add(d: np.ndarray, k: int, ids: np.ndarray, names: np.ndarray, is_cell: np.ndarray) -> int:
        first = sum(len(x) for x in digits)
        digits.append(d)
        kinds.append(np.full(len(d), k, dtype=np.int8))
        oid.append(ids)
        oname.append(names)
        cell.append(is_cell)
        return first

    # Private attorneys: a home facility, some also a second one; 1-3 numbers each.
    n_att = max(12, n_inm // 30)
    att_home = rng.choice(n_fac, size=n_att, p=fweights)
    att_second = np.where(rng.random(n_att) < 0.4, rng.integers(0, n_fac, n_att), -1)
    att_names = draw.person(rng, n_att)
    n_office = np.where(rng.random(n_att) < 0.12, 2, 1)
    has_cell = rng.random(n_att) < 0.6
    att_of_num = np.concatenate([np.repeat(np.arange(n_att), n_office), np.flatnonzero(has_cell)])
    att_num_cell = np.concatenate(
        [np.zeros(int(n_office.sum()), bool), np.ones(int(has_cell.sum()), bool)]
    )
    order = np.argsort(att_of_num, kind="stable")
    att_of_num, att_num_cell = att_of_num[order], att_num_cell[order]
    a0 = add(
        draw.numbers(rng, draw.area_for_states(rng, fac_state[att_home[att_of_num]])),
        K_ATT,
        np.array([f"A{a:05d}" for a in att_of_num], dtype=object),
        att_names[att_of_num],
        att_num_cell,
    )
    att_nums = a0 + np.arange(len(att_of_num))
    # Public defender offices: one per facility, 2-3 lines each.
    pd_n = rng.integers(2, 4, size=n_fac)
    pd_of = np.repeat(np.arange(n_fac), pd_n)
    pd_names = np.array([f"{facs[i].county} Public Defender's Office" for i in pd_of], object)
    p0 = add(
        draw.numbers(rng, draw.area_for_states(rng, fac_state[pd_of])),
        K_PD,
        np.array([f"PD{i:03d}" for i in pd_of], dtype=object),
        pd_names,
        np.zeros(len(pd_of), bool),
    )
    # Bail bonds, court clerks, hotlines: the high fan-in numbers that are not attorneys.
    n_bail = max(4, n_inm // 400)
    bail_fac = rng.choice(n_fac, size=n_bail, p=fweights)
    bail_fac[: min(n_fac, n_bail)] = np.arange(min(n_fac, n_bail))
    bname = np.array(
        [f"{places.BAIL_NAMES[i % len(places.BAIL_NAMES)]} of {facs[f].county}"
         for i, f in enumerate(bail_fac)],
        dtype=object,
    )  # fmt: skip
    b0 = add(
        draw.numbers(rng, draw.area_for_states(rng, fac_state[bail_fac])),
        K_BAIL,
        np.array([f"B{i:04d}" for i in range(n_bail)], dtype=object),
        bname,
        np.zeros(n_bail, bool),
    )
    c0 = add(
        draw.numbers(rng, draw.area_for_states(rng, fac_state)),
        K_COURT,
        np.array([f"C{i:03d}" for i in range(n_fac)], dtype=object),
        np.array([f"{f.county} District Clerk" for f in facs], dtype=object),
        np.zeros(n_fac, bool),
    )
    n_hot = len(places.HOTLINE_NAMES)
    h0 = add(
        draw.numbers(rng, rng.choice(places.TOLL_FREE, size=n_hot)),
        K_HOT,
        np.array([f"H{i:02d}" for i in range(n_hot)], dtype=object),
        np.array(places.HOTLINE_NAMES, dtype=object),
        np.zeros(n_hot, bool),
    )
    # Families: households with a primary inmate; some shared by 2-3 inmates.
    n_fam = int(n_inm * 2.6)
    fam_primary = np.concatenate([np.arange(n_inm), rng.integers(0, n_inm, n_fam - n_inm)])
    fam_state = np.where(
        rng.random(n_fam) < 0.85,
        fac_state[inm_fac[fam_primary]],
        rng.choice(fac_state, size=n_fam),
    )
    fam_names = np.array(
        [f"{f} {places.LAST_NAMES[i]}" for f, i in zip(
            rng.choice(places.FIRST_NAMES, n_fam),
            rng.integers(0, len(places.LAST_NAMES), n_fam), strict=True)],
        dtype=object,
    )  # fmt: skip
    f0 = add(
        draw.numbers(rng, draw.area_for_states(rng, fam_state)),
        K_FAM,
        np.array([f"F{i:07d}" for i in range(n_fam)], dtype=object),
        fam_names,
        rng.random(n_fam) < 0.5,
    )
    # Everyone else: mostly numbers one inmate calls a few times.
    target_numbers = max(calls // 54, n_inm * 6)
    lam = max(2.0, target_numbers / n_inm - 2.6 * 1.3)
    other_cnt = rng.poisson(lam, size=n_inm)
    other_inm = np.repeat(np.arange(n_inm), other_cnt)
    n_other = len(other_inm)
    o0 = add(
        draw.numbers(rng, draw.area_for_states(rng, fac_state[inm_fac[other_inm]])),
        K_OTHER,
        np.full(n_other, None, dtype=object),
        np.full(n_other, None, dtype=object),
        rng.random(n_other) < 0.6,
    )
    all_digits = draw.dedupe(rng, np.concatenate(digits))
    n_num = len(all_digits)

    # --- contacts: (inmate, number, kind) pairs -------------------------------------------
    ci: list[np.ndarray] = [fam_primary]
    cn: list[np.ndarray] = [f0 + np.arange(n_fam)]
    for share in (0.25, 0.06):  # second and third inmate on a family line
        pick = np.flatnonzero(rng.random(n_fam) < share)
        prim = fam_primary[pick]
        same_fac = rng.integers(0, n_inm, size=len(pick))
        ok = inm_fac[same_fac] == inm_fac[prim]
        ci.append(same_fac[ok])
        cn.append(f0 + pick[ok])
    ci.append(other_inm)
    cn.append(o0 + np.arange(n_other))
    # Private attorneys: popular ones (Zipf-like) get many clients across facilities.
    has_att = rng.random(n_inm) < 0.45
    two_att = has_att & (rng.random(n_inm) < 0.2)
    pop = rng.pareto(1.2, size=n_att) + 0.05
    for f in range(n_fac):
        # Mostly attorneys practicing at this facility, some from anywhere (popular ones).
        near = ((att_home == f) | (att_second == f)).astype(float)
        p = pop * (near * 0.85 / max((pop * near).sum(), 1e-9) + 0.15 / pop.sum())
        cand = np.arange(n_att)
        p = p / p.sum()
        for mask in (has_att, two_att):
            inm = np.flatnonzero(mask & (inm_fac == f))
            if len(inm) == 0:
                continue
            chosen = rng.choice(cand, size=len(inm), p=p)
            # every number of the chosen attorney becomes a contact (office and cell)
            starts = np.searchsorted(att_of_num, chosen, side="left")
            ends = np.searchsorted(att_of_num, chosen, side="right")
            cnt = ends - starts
            ci.append(np.repeat(inm, cnt))
            cn.append(att_nums[np.repeat(starts, cnt) + draw.ramp(cnt)])
    pd_client = (~has_att & (rng.random(n_inm) < 0.75)) | (has_att & (rng.random(n_inm) < 0.1))
    inm = np.flatnonzero(pd_client)
    pd_start = np.concatenate([[0], np.cumsum(pd_n)[:-1]])
    line = (rng.random(len(inm)) * pd_n[inm_fac[inm]]).astype(np.int64)
    ci.append(inm)
    cn.append(p0 + pd_start[inm_fac[inm]] + line)
    # Bail: 30 % of inmates, from companies near their facility.
    inm = np.flatnonzero(rng.random(n_inm) < 0.3)
    for f in range(n_fac):
        sub = inm[inm_fac[inm] == f]
        cand = np.flatnonzero(fac_state[bail_fac] == facs[f].state)
        cand = cand if len(cand) else np.arange(n_bail)
        ci.append(sub)
        cn.append(b0 + rng.choice(cand, size=len(sub)))
    inm = np.flatnonzero(rng.random(n_inm) < 0.35)
    ci.append(inm)
    cn.append(c0 + inm_fac[inm])
    # Hotlines: a quarter of inmates, most of them the same few lines (PREA, crisis).
    inm = np.flatnonzero(rng.random(n_inm) < 0.25)
    hp = 0.5 ** np.arange(n_hot)
    ci.append(inm)
    cn.append(h0 + rng.choice(n_hot, size=len(inm), p=hp / hp.sum()))
    c_inm = np.concatenate(ci)
    c_num = np.concatenate(cn)
    all_kind = np.concatenate(kinds)
    key, c_num = draw.contact_keys(rng, c_inm, c_num, all_kind, n_inm)

    # --- registry and directories ---------------------------------------------------------
    kind = all_kind
    is_cell = np.concatenate(cell)
    r = rng.random(n_num)
    reg_p = np.select(
        [(kind == K_ATT) & ~is_cell, (kind == K_ATT) & is_cell, kind == K_PD], [0.55, 0.12, 0.85]
    )
    registered = r < reg_p
    reg_from = np.where(
        rng.random(n_num) < 0.2,
        rng.integers(P0 - 900, P0, n_num),
        rng.integers(P0 + 10, P1 - 30, n_num),
    )
    reg_from = np.where(registered, reg_from, -1)
    removed = registered & (rng.random(n_num) < 0.05)
    reg_until = np.where(removed, reg_from + rng.integers(60, 400, n_num), -1)
    att_owner = np.zeros(n_num, dtype=np.int64)
    att_owner[att_nums] = att_of_num
    home = att_home[att_owner]
    reg_fac = np.where(registered & (kind == K_ATT) & (rng.random(n_num) < 0.1), home, -1)
    listed = rng.random(n_att) < 0.85
    in_dir = np.zeros(n_num, bool)
    lst = listed[att_owner] & (kind == K_ATT)
    in_dir |= lst & ~is_cell & (rng.random(n_num) < 0.95)
    in_dir |= lst & is_cell & (rng.random(n_num) < 0.15)
    in_dir |= kind == K_PD
    attorneys = [
        Attorney(
            name=str(att_names[a]),
            bar_number=f"{facs[att_home[a]].state}{int(rng.integers(10**5, 10**7)):07d}",
            firm=draw.firm(rng, str(att_names[a])),
            numbers=[int(n) for n in att_nums[att_of_num == a]],
            listed=bool(listed[a]),
        )
        for a in range(n_att)
    ]
    pd_offices = [
        (f"{facs[f].county} Public Defender's Office", [int(n) for n in p0 + np.flatnonzero(pd_of == f)])
        for f in range(n_fac)
    ]  # fmt: skip
    return Population(
        facilities=facs,
        ignored_facility=ignored,
        inmate_fac=inm_fac.astype(np.int16),
        inmate_account=accounts.astype(np.int64),
        inmate_first=rng.integers(0, len(places.FIRST_NAMES), n_inm),
        inmate_last=rng.integers(0, len(places.LAST_NAMES), n_inm),
        inmate_weight=rng.lognormal(0.0, 0.8, n_inm),
        inmate_from=i_from,
        inmate_to=i_to,
        num_digits=all_digits,
        num_kind=kind,
        num_owner_id=np.concatenate(oid),
        num_owner_name=np.concatenate(oname),
        num_is_cell=is_cell,
        num_in_dir=in_dir,
        reg_from=reg_from.astype(np.int64),
        reg_until=reg_until.astype(np.int64),
        reg_fac=reg_fac.astype(np.int64),
        contact_key=key,
        contact_num=c_num,
        attorneys=attorneys,
        pd_offices=pd_offices,
    )
