"""Plain-language text shared by the HTML report, the PDF report and the letters."""

from __future__ import annotations

from typing import Any

from privguard.errors import printable
from privguard.internals.common.phones import reason_label

INTRO = (
    "Calls between a person in custody and their lawyer are confidential. This audit read "
    "the jail and prison phone records given to it, found the calls made to telephone "
    "numbers that belong to attorneys, and counted how many of them the records mark as "
    "recorded, including calls to numbers the facility had been told not to record."
)

CLASS_LABELS = {
    "registered": "Registered",
    "directory_attorney": "In an attorney directory",
    "confirmed": "Confirmed by review",
    "candidate": "Candidate (needs review)",
    "other": "Not an attorney number",
}

CLASS_EXPLAINED = {
    "registered": "The number was on a do-not-record registry. Strongest evidence: the "
    "facility had been told not to record calls to it.",
    "directory_attorney": "The number is listed for an attorney or a public-defender office "
    "in a bar or office directory given to the audit.",
    "confirmed": "A person on the case team reviewed the number and confirmed it belongs to "
    "an attorney.",
    "candidate": "The calling pattern looks like an attorney's (many different inmates, "
    "business hours, longer calls), but nobody has confirmed it. Candidates are NOT counted "
    "as privileged calls until confirmed.",
    "other": "No evidence that the number belongs to an attorney (family, friends, bail "
    "bonds, courts, hotlines and so on).",
}

CAVEATS = [
    "These counts are a floor, not a ceiling. Calls are matched by phone number: an "
    "attorney's cell phone, branch office or investigator's line that is in no directory "
    "and no registry is missed, so the true number of privileged calls is likely higher.",
    "Attempts and completed calls are both reported. An attempt is any call placed to the "
    "number, answered or not; a completed call was connected. Recorded-call counts include "
    "every call the records mark as recorded, and, counted apart, the calls inferred recorded "
    "(next point).",
    "Some tables say nothing about recording. Jails record every call unless the number is on "
    "their do-not-record list, and the records show each facility's practice: for the "
    "completed calls whose recording the records state either way (a recorded flag, or a "
    "log of calls that gives a recording link for some calls and none for others), the "
    "audit measures the share "
    "recorded at each facility, separately for numbers on the list at the time and numbers "
    "not on it. Where that share reaches the case file's threshold ([findings]; by default "
    "99 % over at least 100 calls), a completed call of the same kind at that facility whose recording no "
    "record states is counted as recorded, and marked 'facility practice' in the exports "
    "and 'inferred' in the letters; a facility that honours its list gets no such inference "
    "for listed numbers. The headline gives the shown and the inferred counts apart, and "
    "the calls still unknown.",
    "A call appears once even when it appears in several of the source tables: duplicate "
    "copies (overlapping exports, billing and recording systems) are merged first.",
    "Times are converted to Coordinated Universal Time (UTC). Where a table did not say "
    "which clock it used, the clock was inferred by lining it up with other tables; see "
    "the clock table below and its confidence.",
    "A registry violation is a call recorded (shown or inferred) to a number that was on the "
    "do-not-record registry on the day of the call (for that facility, or for all "
    "facilities), counting from the date it was added until the date it was removed.",
    "Candidate numbers are leads, not findings: they are listed for review and are not "
    "counted as privileged calls.",
]


def practice_lines(summary: dict[str, Any]) -> list[str]:
    """One sentence per facility and kind of call whose practice made calls inferred
    recorded (``summary["recording_practice"]``), for the method section; [] when none."""
    rule = summary.get("recording_practice_rule") or {}
    out = []
    for r in summary.get("recording_practice") or []:
        if not r.get("inferred_calls"):
            continue
        kind = "on the do-not-record list at the time" if r["registered"] else "not on the list"
        share = 100.0 * r["recorded"] / r["stated"] if r["stated"] else 0.0
        out.append(
            f"{r['facility'] or '(facility unknown)'}, calls to numbers {kind}: the records "
            f"state the recording of {r['stated']:,} completed calls, {r['recorded']:,} of them "
            f"recorded ({share:.1f} %); {r['inferred_calls']:,} completed calls to attorney "
            "numbers whose recording no record states were inferred recorded"
            + (
                f" (rule: at least {100 * float(rule['share']):g} % over at least "
                f"{int(rule['min_calls']):,} calls)."
                if rule.get("share") is not None and rule.get("min_calls") is not None
                else "."
            )
        )
    return out


PRIVACY_NOTE = (
    "To protect people who are not the subject of this report, inmate names, inmate "
    "account numbers and phone numbers that do not belong to attorneys are replaced by "
    "pseudonyms (for example person-1a2b3c4d5e6f). The same person always gets the same "
    "pseudonym in this case, so calls can still be followed. The case team keeps the key "
    "that links pseudonyms to people."
)

RESTRICTED_NOTE = (
    "This report, the letters and the exports are in the audit's shareable folder. The "
    "material behind them that names people in full (the call table, the list of "
    "privileged calls with names and accounts, findings/by_inmate.csv (the table of the "
    "exports' by_inmate.csv, with people named), the review sheet "
    "and the work files) is in the audit's restricted folder, beside this one: it stays "
    "with the case team. README.txt at the top of the audit folder says which is which."
)

CUSTODY = (
    "The file manifest.json at the top of the audit folder (one level above this report) "
    "lists a SHA-256 fingerprint of every input and output file, the settings used and the "
    "software versions; manifest.sig holds its Ed25519 signature and the case's public key. "
    "Anyone can check that nothing was changed since the audit ran with 'privguard verify' "
    "followed by the folder name; a single changed byte is detected. Running the same audit "
    "again on the same files gives identical outputs."
)

LETTER_MEANING = (
    "Telephone calls between a lawyer and a person in custody are confidential "
    "(attorney-client privilege). The call records examined in this audit show that the "
    "calls listed below, made from a jail or prison to a telephone number of yours, were "
    "marked as recorded. A recorded privileged call may have been listened to or handed to "
    "others, for example to prosecutors in response to a request for an inmate's calls."
)

LETTER_OPTIONS = [
    "Ask the facility and its phone vendor, in writing, to preserve and then delete every "
    "recording of these calls, including backups, and to confirm the deletion in writing.",
    "Ask who accessed or received the recordings, and when (access logs, subpoena or "
    "discovery responses).",
    "Check that all of your numbers (office, cell, branch offices, investigators) are on "
    "the do-not-record list of every facility, and ask for a written receipt.",
    "Ask the court to impound the recordings and to order that nobody listen to them until "
    "it decides who may, as the District of Kansas did for recorded attorney-client calls "
    "in 2016.",
    "If a client's case may have been affected, consider a motion to suppress evidence "
    "derived from the recordings, to disqualify anyone who listened, or other relief.",
    "Keep this letter: the audit's manifest lets anyone check that the underlying files "
    "have not been changed (privguard verify).",
]

# Where the requests above come from: remedies that courts, settlements and public bodies
# actually ordered or recommended (summarized in our words; the report's closing note cites them).
LETTER_PRECEDENTS = (
    "These requests follow what others in your position obtained. In Travis County, Texas, "
    "the 2016 settlement with the Austin Lawyers Guild lets attorneys put their numbers on "
    "the do-not-record list online, and requires prosecutors who come across a recorded "
    "attorney-client call to stop listening and tell the attorney. In the District of "
    "Kansas (Leavenworth, 2016-2019), recorded attorney-client calls led to a court-ordered "
    "investigation, contempt findings, vacated sentences and settlements. In California "
    "(Romero v. Securus, 2020), the phone vendor settled by adding a private-call option and "
    "reporting twice a year that attorney calls are not recorded. In Davidson "
    "County, Tennessee (2011), recordings handed to prosecutors on CDs were ordered back. "
    "A Santa Clara County civil grand jury (2006-2007) reviewed the jail's handling of "
    "privileged calls under California Penal Code section 636, which makes recording them a "
    "felony. Maine's LD 1603 (2023) makes intercepted attorney-client calls inadmissible and "
    "bars anyone who listened from the case."
)

RULE_LABELS = {
    "single": "Found in one table",
    "exact": "Exact copies",
    "near_time": "Start times slightly apart",
    "billed_minutes": "Billing copy (whole minutes)",
    "same_call_id": "Same call identifier",
}

RULES_EXPLAINED = {
    "single": "Calls found in one table only: nothing to merge.",
    "exact": "Copies that agree exactly on facility, inmate, number, start time and duration.",
    "near_time": "Copies whose start times differ by a little (clocks a few seconds or "
    "minutes apart), with the same facility, inmate and number.",
    "billed_minutes": "A billing copy (duration rounded up to whole minutes) matched to "
    "the recording system's copy of the same call.",
    "same_call_id": "Copies that carry the same call identifier.",
}

ZONE_METHODS = {
    "mapping": "given in the mapping file",
    "header": "named in the column header",
    "column": "a time-zone column in each row",
    "offset": "an offset written in each time",
    "inferred": "inferred: lined up with other tables",
    "fallback": "assumed from the facility's other tables",
}


def invalid_numbers(summary: dict[str, Any]) -> str | None:
    """The sentence on calls to numbers that are not phone numbers, or None when unknown.

    "312 calls went to numbers that are not valid phone numbers (N11 area code: 200; too
    short: 112); they are counted as calls, never as attorney numbers."
    """
    n = summary.get("calls_to_invalid_numbers")
    if not isinstance(n, int):
        return None
    if n == 0:
        return "Every call went to a valid phone number."
    reasons = summary.get("invalid_number_reasons") or {}
    counted = [(r, c) for r, c in reasons.items() if isinstance(c, int)]
    parts = [
        f"{reason_label(r)}: {c:,}" for r, c in sorted(counted, key=lambda rc: (-rc[1], rc[0]))
    ]
    why = f" ({'; '.join(parts)})" if parts else ""
    if n == 1:
        return (
            f"1 call went to a number that is not a valid phone number{why}; it is counted "
            "as a call, never as an attorney number."
        )
    return (
        f"{n:,} calls went to numbers that are not valid phone numbers{why}; they are "
        "counted as calls, never as attorney numbers."
    )


INVALID_NUMBERS_EXPLAINED = (
    "A North American number has a 3-digit area code and a 3-digit exchange, neither "
    "starting with 0 or 1 and neither an N11 service code (211, 311 ... 911). Calls to a "
    "number that breaks these rules, or that is too short, too long or not a number at "
    "all, are kept and counted once each, like every call, whichever way each record "
    "wrote the number."
)


def data_intro(summary: dict[str, Any]) -> str:
    """The first sentence of "The data": whether every file given to the audit was read."""
    n = summary.get("files_unread")
    if not isinstance(n, int) or n == 0:
        return (
            "The audit read every table given to it, set aside rows it could not read, and "
            "merged copies of the same call."
        )
    size = summary.get("bytes_unread")
    bytes_ = f" ({size:,} bytes)" if isinstance(size, int) and size else ""
    return (
        f"The audit is INCOMPLETE: {n:,} file{'s' if n != 1 else ''}{bytes_} given to it could "
        "not be read, and whatever calls they hold are in no figure of this report (they are "
        "listed below with the reason). It read every other table, set aside rows it could "
        "not read, and merged copies of the same call."
    )


def unread_rows(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(file, size, reason) of every file that could not be read."""
    rows = summary.get("unread_files")
    if not isinstance(rows, list):
        return []
    return [  # escaped as on the screen: a control character is invisible in a page
        (
            printable(str(r.get("file", ""))),
            f"{r['bytes']:,} bytes" if isinstance(r.get("bytes"), int) else "size unknown",
            printable(str(r.get("reason", ""))),
        )
        for r in rows
        if isinstance(r, dict)
    ]
