"""Fixed vocabularies: facilities, area codes, names. Data only, no logic."""

from __future__ import annotations

# (county or jail name, state, IANA zone). Real places so area codes and zones fit.
FACILITY_POOL: tuple[tuple[str, str, str], ...] = (
    ("Fulton County Jail", "GA", "America/New_York"),
    ("Travis County Correctional Complex", "TX", "America/Chicago"),
    ("Denver County Jail", "CO", "America/Denver"),
    ("Maricopa County Lower Buckeye Jail", "AZ", "America/Phoenix"),
    ("Los Angeles County Men's Central Jail", "CA", "America/Los_Angeles"),
    ("Harris County Jail", "TX", "America/Chicago"),
    ("Wayne County Jail", "MI", "America/New_York"),
    ("Clark County Detention Center", "NV", "America/Los_Angeles"),
    ("Shelby County Criminal Justice Center", "TN", "America/Chicago"),
    ("Salt Lake County Metro Jail", "UT", "America/Denver"),
    ("Miami-Dade Pre-Trial Detention Center", "FL", "America/New_York"),
    ("Pima County Adult Detention Complex", "AZ", "America/Phoenix"),
    ("Orleans Parish Prison", "LA", "America/Chicago"),
    ("King County Correctional Facility", "WA", "America/Los_Angeles"),
    ("Bernalillo County Detention Center", "NM", "America/Denver"),
    ("Suffolk County Jail", "MA", "America/New_York"),
    ("Hennepin County Jail", "MN", "America/Chicago"),
    ("San Diego Central Jail", "CA", "America/Los_Angeles"),
    ("Allegheny County Jail", "PA", "America/New_York"),
    ("Jackson County Detention Center", "MO", "America/Chicago"),
    ("Multnomah County Detention Center", "OR", "America/Los_Angeles"),
    ("Ada County Jail", "ID", "America/Denver"),
)

# Real area codes per state (all accepted by libphonenumber).
AREA_CODES: dict[str, tuple[int, ...]] = {
    "GA": (404, 678, 770),
    "TX": (512, 737, 713, 281, 832, 214, 972, 210),
    "CO": (303, 720),
    "AZ": (602, 480, 623, 520),
    "CA": (213, 323, 310, 619, 858),
    "MI": (313, 248, 734),
    "NV": (702,),
    "TN": (901, 615),
    "UT": (801, 385),
    "FL": (305, 786, 954),
    "LA": (504,),
    "WA": (206, 253, 425),
    "NM": (505,),
    "MA": (617, 857, 781),
    "MN": (612, 952),
    "PA": (412, 724),
    "MO": (816,),
    "OR": (503, 971),
    "ID": (208,),
}
TOLL_FREE: tuple[int, ...] = (800, 888, 877, 866)

FIRST_NAMES: tuple[str, ...] = (
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
    "Charles", "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven",
    "Paul", "Andrew", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald",
    "Jason", "Edward", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Jonathan",
    "Stephen", "Larry", "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Gregory",
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
    "Sarah", "Karen", "Lisa", "Nancy", "Betty", "Sandra", "Margaret", "Ashley", "Kimberly",
    "Emily", "Donna", "Michelle", "Carol", "Amanda", "Melissa", "Deborah", "Stephanie",
    "José", "Jesús", "María", "Andrés", "Raúl", "Ramón", "Joaquín", "Iván", "Sofía", "Inés",
    "Darnell", "DeShawn", "Tyrone", "Jamal", "Malik", "Terrell", "Keisha", "Latoya", "Aaliyah",
    "Luis", "Carlos", "Juan", "Miguel", "Jorge", "Pedro", "Alejandro", "Francisco", "Rosa",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris",
    "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott",
    "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter",
    "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris",
    "García", "Martínez", "Rodríguez", "Hernández", "López", "González", "Pérez", "Sánchez",
    "Ramírez", "Muñoz", "Peña", "Núñez", "Ibáñez", "Gutiérrez", "Jiménez", "Álvarez", "Díaz",
    "O'Brien", "O'Connor", "D'Angelo", "McDonald", "Smith-Jones", "St. John", "Washington",
    "Nguyen", "Tran", "Le", "Pham", "Kim", "Park", "Chen", "Wang", "Singh", "Patel",
)  # fmt: skip
FIRM_WORDS: tuple[str, ...] = (
    "Law Office of",
    "Law Offices of",
    "Legal Group",
    "& Associates",
    "Defense",
    "PLLC",
    "LLP",
)
BAIL_NAMES: tuple[str, ...] = (
    "Aladdin Bail Bonds", "Freedom Bail Bonds", "A-1 Bail Bonding", "Liberty Bail Bonds",
    "Lucky Bail Bonds", "Big Mike's Bail Bonds", "24 Hour Bail Bonds", "Express Bail",
    "Second Chance Bail Bonds", "Jail Break Bail Bonds", "Bail Hotline Inc", "AAA Bonding",
)  # fmt: skip
HOTLINE_NAMES: tuple[str, ...] = (
    "PREA Reporting Hotline", "Crisis Line", "Inmate Family Services", "Chaplaincy Line",
    "Veterans Crisis Line", "Legal Aid Intake Line", "Ombudsman Line", "Immigration Hotline",
)  # fmt: skip
