"""English names of time zones: what the agent calls a zone, what callers call theirs."""

from __future__ import annotations

from caller_language.word_tables import ZoneWords

# Spoken names, as callers say them. Zones not listed fall back to "<City> time".
_EASTERN = (
    "America/New_York America/Detroit America/Toronto America/Nassau America/Iqaluit "
    "America/Indiana/Indianapolis America/Indiana/Marengo America/Indiana/Petersburg "
    "America/Indiana/Vevay America/Indiana/Vincennes America/Indiana/Winamac "
    "America/Kentucky/Louisville America/Kentucky/Monticello"
)
_CENTRAL = (
    "America/Chicago America/Winnipeg America/Menominee America/Indiana/Knox "
    "America/Indiana/Tell_City America/North_Dakota/Center America/North_Dakota/New_Salem "
    "America/North_Dakota/Beulah America/Rankin_Inlet America/Resolute America/Matamoros"
)
_MOUNTAIN = "America/Denver America/Boise America/Edmonton America/Cambridge_Bay America/Inuvik"
_PACIFIC = "America/Los_Angeles America/Vancouver America/Tijuana"
_ALASKA = "America/Anchorage America/Juneau America/Sitka America/Nome America/Yakutat"
_ATLANTIC = "America/Halifax America/Moncton America/Glace_Bay America/Goose_Bay Atlantic/Bermuda"
_UK = "Europe/London Europe/Guernsey Europe/Jersey Europe/Isle_of_Man"
_CET = (
    "Europe/Berlin Europe/Paris Europe/Madrid Europe/Rome Europe/Amsterdam Europe/Brussels "
    "Europe/Vienna Europe/Zurich Europe/Stockholm Europe/Oslo Europe/Copenhagen Europe/Warsaw "
    "Europe/Prague Europe/Budapest Europe/Belgrade Europe/Zagreb Europe/Ljubljana "
    "Europe/Bratislava Europe/Luxembourg Europe/Monaco Europe/Malta Europe/Andorra Europe/Vaduz "
    "Europe/San_Marino Europe/Vatican Europe/Gibraltar Europe/Tirane Europe/Sarajevo "
    "Europe/Skopje Europe/Podgorica Europe/Busingen Arctic/Longyearbyen Africa/Ceuta"
)
_EET = (
    "Europe/Athens Europe/Helsinki Europe/Bucharest Europe/Sofia Europe/Kyiv Europe/Riga "
    "Europe/Tallinn Europe/Vilnius Europe/Chisinau Europe/Mariehamn Asia/Nicosia Asia/Famagusta"
)
_SPOKEN: dict[str, str] = {
    **dict.fromkeys(_EASTERN.split(), "Eastern"),
    **dict.fromkeys(_CENTRAL.split(), "Central"),
    **dict.fromkeys(_MOUNTAIN.split(), "Mountain"),
    **dict.fromkeys(_PACIFIC.split(), "Pacific"),
    **dict.fromkeys(_ALASKA.split(), "Alaska"),
    **dict.fromkeys(_ATLANTIC.split(), "Atlantic"),
    **dict.fromkeys(_UK.split(), "UK time"),
    **dict.fromkeys(_CET.split(), "Central European time"),
    **dict.fromkeys(_EET.split(), "Eastern European time"),
    "America/Phoenix": "Arizona",
    "America/Adak": "Aleutian",
    "Pacific/Honolulu": "Hawaii",
    "America/St_Johns": "Newfoundland",
    "America/Regina": "Saskatchewan",
    "Europe/Dublin": "Irish time",
    "Asia/Kolkata": "India time",
    "Etc/UTC": "UTC",
}

# What callers say -> (the zone meant when no candidate fits, other zones it may also mean).
# A caller's answer first picks a candidate with the same spoken name, then one of the "also"
# zones (an Arizonan saying "mountain"), and only then the default.
_ANSWER_WORDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "eastern": ("America/New_York", ()),
    "east coast": ("America/New_York", ()),
    "est": ("America/New_York", ()),
    "edt": ("America/New_York", ()),
    "et": ("America/New_York", ()),
    "central": ("America/Chicago", ("America/Regina",)),
    "cst": ("America/Chicago", ("America/Regina",)),
    "cdt": ("America/Chicago", ()),
    "ct": ("America/Chicago", ()),
    "mountain": ("America/Denver", ("America/Phoenix",)),
    "mst": ("America/Denver", ("America/Phoenix",)),
    "mdt": ("America/Denver", ()),
    "mt": ("America/Denver", ("America/Phoenix",)),
    "pacific": ("America/Los_Angeles", ()),
    "west coast": ("America/Los_Angeles", ()),
    "pst": ("America/Los_Angeles", ()),
    "pdt": ("America/Los_Angeles", ()),
    "pt": ("America/Los_Angeles", ()),
    "arizona": ("America/Phoenix", ()),
    "alaska": ("America/Anchorage", ()),
    "aleutian": ("America/Adak", ()),
    "hawaii": ("Pacific/Honolulu", ()),
    "atlantic": ("America/Halifax", ()),
    "newfoundland": ("America/St_Johns", ()),
    "saskatchewan": ("America/Regina", ()),
    "uk": ("Europe/London", ()),
    "british": ("Europe/London", ()),
    "britain": ("Europe/London", ()),
    "england": ("Europe/London", ()),
    "scotland": ("Europe/London", ()),
    "wales": ("Europe/London", ()),
    "gmt": ("Europe/London", ()),
    "bst": ("Europe/London", ()),
    "greenwich": ("Europe/London", ()),
    "ireland": ("Europe/Dublin", ()),
    "irish": ("Europe/Dublin", ()),
    "central european": ("Europe/Berlin", ()),
    "cet": ("Europe/Berlin", ()),
    "cest": ("Europe/Berlin", ()),
    "germany": ("Europe/Berlin", ()),
    "france": ("Europe/Paris", ()),
    "spain": ("Europe/Madrid", ()),
    "italy": ("Europe/Rome", ()),
    "netherlands": ("Europe/Amsterdam", ()),
    "eastern european": ("Europe/Athens", ()),
    "eet": ("Europe/Athens", ()),
    "india": ("Asia/Kolkata", ()),
    "ist": ("Asia/Kolkata", ()),
    "mumbai": ("Asia/Kolkata", ()),
    "bombay": ("Asia/Kolkata", ()),
    "delhi": ("Asia/Kolkata", ()),
    "new delhi": ("Asia/Kolkata", ()),
    "bangalore": ("Asia/Kolkata", ()),
    "bengaluru": ("Asia/Kolkata", ()),
    "japan": ("Asia/Tokyo", ()),
    "jst": ("Asia/Tokyo", ()),
    "utc": ("Etc/UTC", ()),
    # Big cities that are not zone names.
    "boston": ("America/New_York", ()),
    "atlanta": ("America/New_York", ()),
    "miami": ("America/New_York", ()),
    "washington dc": ("America/New_York", ()),
    "philadelphia": ("America/New_York", ()),
    "dallas": ("America/Chicago", ()),
    "houston": ("America/Chicago", ()),
    "austin": ("America/Chicago", ()),
    "texas": ("America/Chicago", ()),
    "minneapolis": ("America/Chicago", ()),
    "salt lake city": ("America/Denver", ()),
    "colorado": ("America/Denver", ()),
    "utah": ("America/Denver", ()),
    "san francisco": ("America/Los_Angeles", ()),
    "seattle": ("America/Los_Angeles", ()),
    "portland": ("America/Los_Angeles", ()),
    "las vegas": ("America/Los_Angeles", ()),
    "california": ("America/Los_Angeles", ()),
    "florida": ("America/New_York", ()),
    "montreal": ("America/Toronto", ()),
    "ottawa": ("America/Toronto", ()),
    "calgary": ("America/Edmonton", ()),
    "melbourne": ("Australia/Melbourne", ()),
    "manchester": ("Europe/London", ()),
    "new jersey": ("America/New_York", ()),
    # US metros and states callers name (a state split by a zone line gets its larger side).
    "detroit": ("America/New_York", ()),
    "pittsburgh": ("America/New_York", ()),
    "baltimore": ("America/New_York", ()),
    "cleveland": ("America/New_York", ()),
    "columbus": ("America/New_York", ()),
    "cincinnati": ("America/New_York", ()),
    "charlotte": ("America/New_York", ()),
    "raleigh": ("America/New_York", ()),
    "richmond": ("America/New_York", ()),
    "orlando": ("America/New_York", ()),
    "tampa": ("America/New_York", ()),
    "indianapolis": ("America/New_York", ()),
    "georgia": ("America/New_York", ()),
    "ohio": ("America/New_York", ()),
    "michigan": ("America/New_York", ()),
    "virginia": ("America/New_York", ()),
    "carolina": ("America/New_York", ()),
    "pennsylvania": ("America/New_York", ()),
    "massachusetts": ("America/New_York", ()),
    "connecticut": ("America/New_York", ()),
    "maryland": ("America/New_York", ()),
    "st louis": ("America/Chicago", ()),
    "saint louis": ("America/Chicago", ()),
    "kansas city": ("America/Chicago", ()),
    "new orleans": ("America/Chicago", ()),
    "memphis": ("America/Chicago", ()),
    "milwaukee": ("America/Chicago", ()),
    "omaha": ("America/Chicago", ()),
    "oklahoma city": ("America/Chicago", ()),
    "san antonio": ("America/Chicago", ()),
    "illinois": ("America/Chicago", ()),
    "wisconsin": ("America/Chicago", ()),
    "minnesota": ("America/Chicago", ()),
    "missouri": ("America/Chicago", ()),
    "iowa": ("America/Chicago", ()),
    "louisiana": ("America/Chicago", ()),
    "alabama": ("America/Chicago", ()),
    "tennessee": ("America/Chicago", ()),
    "oklahoma": ("America/Chicago", ()),
    "arkansas": ("America/Chicago", ()),
    "nashville": ("America/Chicago", ()),
    "el paso": ("America/Denver", ()),
    "albuquerque": ("America/Denver", ()),
    "new mexico": ("America/Denver", ()),
    "wyoming": ("America/Denver", ()),
    "montana": ("America/Denver", ()),
    "tucson": ("America/Phoenix", ()),
    "scottsdale": ("America/Phoenix", ()),
    "san diego": ("America/Los_Angeles", ()),
    "san jose": ("America/Los_Angeles", ()),
    "sacramento": ("America/Los_Angeles", ()),
    "oakland": ("America/Los_Angeles", ()),
    "washington state": ("America/Los_Angeles", ()),
    "oregon": ("America/Los_Angeles", ()),
    "nevada": ("America/Los_Angeles", ()),
}

# Zone cities that are also everyday words or US places callers mean instead.
_NOT_CITIES = frozenset(
    {
        "center",
        "christmas",
        "jersey",
        "reunion",
        "stanley",
        "norfolk",
        "cayenne",
        "canary",
        "regina",
        "lima",
        "victoria",
    }
)

# Zone names callers say bare, right after a time ("5 eastern"); others need "time" after them.
_BARE = (
    "eastern central mountain pacific alaska hawaii arizona atlantic newfoundland et est edt "
    "ct cst cdt mt mst mdt pt pst pdt gmt utc bst cet cest"
).split()

ZONES = ZoneWords(
    spoken=_SPOKEN,
    answers=_ANSWER_WORDS,
    bare=tuple(_BARE),
    not_cities=_NOT_CITIES,
    city_time="{city} time",
    utc_offset="UTC {sign} {hours}",
    plus="plus",
    minus="minus",
    same_as_you=r"\bsame\b.*\b(you|yours|your|there|office)\b|\bwhatever you are\b",
)
