"""The city table of Guess My City: 51 real cities with hand-written, rounded facts.

Populations are rough figures in millions for the city itself (or its municipality where
that is the usual figure), used only in coarse bands; coordinates are rounded to a tenth of a
degree. ``coastal`` means on a sea or ocean coast (lake shores do not count).
"""

from __future__ import annotations

from dataclasses import dataclass

from turngym.envs.games.common import fold

__all__ = ["CITIES", "CLIMATES", "City", "city_by_name", "population_band"]

CLIMATES: dict[str, str] = {
    "tropical": "hot and humid all year, with a rainy season",
    "arid": "hot and dry, a desert climate with little rain",
    "mediterranean": "hot dry summers and mild, wet winters",
    "oceanic": "mild and often rainy, with cool summers and mild winters",
    "continental": "warm summers and cold, snowy winters",
    "subtropical": "hot, humid summers and mild winters",
    "highland": "mild all year because the city lies high up",
    "subarctic": "cold, with long winters and short cool summers",
}
"""Climate classes and how the oracle describes them."""

CLIMATE_ADJECTIVES: dict[str, frozenset[str]] = {
    "tropical": frozenset({"hot", "warm", "humid", "tropical", "rainy", "wet", "sunny"}),
    "arid": frozenset({"hot", "warm", "dry", "desert", "arid", "sunny"}),
    "mediterranean": frozenset({"warm", "dry", "mild", "sunny"}),
    "oceanic": frozenset({"mild", "rainy", "wet", "cool"}),
    "continental": frozenset({"cold", "snowy", "freezing", "cool"}),
    "subtropical": frozenset({"hot", "warm", "humid", "rainy", "wet"}),
    "highland": frozenset({"mild", "cool"}),
    "subarctic": frozenset({"cold", "snowy", "freezing", "cool"}),
}
"""Which weather words a climate class counts as true for yes/no questions."""


@dataclass(frozen=True)
class City:
    """One hidden city of Guess My City."""

    name: str
    """Canonical name (``"Sao Paulo"``)."""
    country: str
    """Country, as the oracle names it."""
    continent: str
    """Europe, Asia, Africa, North America, South America or Oceania."""
    population_m: float
    """Rough population in millions."""
    coastal: bool
    """On a sea or ocean coast."""
    capital: bool
    """A national capital."""
    languages: tuple[str, ...]
    """Main languages spoken, most common first."""
    landmark: str
    """A famous landmark, with its article ("the Eiffel Tower")."""
    climate: str
    """A key of :data:`CLIMATES`."""
    latitude: float
    """Degrees north (negative: south)."""
    longitude: float
    """Degrees east (negative: west)."""
    aliases: tuple[str, ...] = ()
    """Other names that count as a correct guess."""

    @property
    def names(self) -> tuple[str, ...]:
        """Canonical name and aliases."""
        return (self.name, *self.aliases)


def _c(
    name: str,
    country: str,
    continent: str,
    population_m: float,
    coastal: bool,
    capital: bool,
    languages: str,
    landmark: str,
    climate: str,
    latitude: float,
    longitude: float,
    aliases: str = "",
) -> City:
    if climate not in CLIMATES:
        raise ValueError(f"{name}: unknown climate {climate!r}")
    return City(
        name=name,
        country=country,
        continent=continent,
        population_m=population_m,
        coastal=coastal,
        capital=capital,
        languages=tuple(languages.split(", ")),
        landmark=landmark,
        climate=climate,
        latitude=latitude,
        longitude=longitude,
        aliases=tuple(a for a in aliases.split(", ") if a),
    )


# fmt: off
CITIES: tuple[City, ...] = (
    _c("Paris", "France", "Europe", 2.1, False, True, "French", "the Eiffel Tower", "oceanic", 48.9, 2.4),
    _c("London", "the United Kingdom", "Europe", 8.9, False, True, "English", "Big Ben", "oceanic", 51.5, -0.1),
    _c("Berlin", "Germany", "Europe", 3.7, False, True, "German", "the Brandenburg Gate", "continental", 52.5, 13.4),
    _c("Madrid", "Spain", "Europe", 3.3, False, True, "Spanish", "the Prado Museum", "mediterranean", 40.4, -3.7),
    _c("Barcelona", "Spain", "Europe", 1.6, True, False, "Spanish, Catalan", "the Sagrada Familia", "mediterranean", 41.4, 2.2),
    _c("Rome", "Italy", "Europe", 2.8, False, True, "Italian", "the Colosseum", "mediterranean", 41.9, 12.5),
    _c("Venice", "Italy", "Europe", 0.26, True, False, "Italian", "the Grand Canal", "subtropical", 45.4, 12.3),
    _c("Amsterdam", "the Netherlands", "Europe", 0.9, False, True, "Dutch", "the Rijksmuseum", "oceanic", 52.4, 4.9),
    _c("Vienna", "Austria", "Europe", 2.0, False, True, "German", "Schonbrunn Palace", "continental", 48.2, 16.4),
    _c("Prague", "the Czech Republic", "Europe", 1.3, False, True, "Czech", "the Charles Bridge", "continental", 50.1, 14.4),
    _c("Lisbon", "Portugal", "Europe", 0.55, True, True, "Portuguese", "the Belem Tower", "mediterranean", 38.7, -9.1),
    _c("Athens", "Greece", "Europe", 0.65, True, True, "Greek", "the Acropolis", "mediterranean", 38.0, 23.7),
    _c("Moscow", "Russia", "Europe", 12.6, False, True, "Russian", "Red Square", "continental", 55.8, 37.6),
    _c("Stockholm", "Sweden", "Europe", 0.98, True, True, "Swedish", "the Vasa Museum", "continental", 59.3, 18.1),
    _c("Dublin", "Ireland", "Europe", 0.59, True, True, "English, Irish", "Trinity College", "oceanic", 53.3, -6.3),
    _c("Reykjavik", "Iceland", "Europe", 0.14, True, True, "Icelandic", "the Hallgrimskirkja church", "subarctic", 64.1, -21.9),
    _c("Tokyo", "Japan", "Asia", 14.0, True, True, "Japanese", "the Shibuya Crossing", "subtropical", 35.7, 139.7),
    _c("Osaka", "Japan", "Asia", 2.7, True, False, "Japanese", "the Dotonbori canal district", "subtropical", 34.7, 135.5),
    _c("Beijing", "China", "Asia", 21.5, False, True, "Mandarin Chinese", "the Forbidden City", "continental", 39.9, 116.4),
    _c("Shanghai", "China", "Asia", 24.9, True, False, "Mandarin Chinese", "the Bund", "subtropical", 31.2, 121.5),
    _c("Hong Kong", "China", "Asia", 7.5, True, False, "Cantonese, English", "Victoria Harbour", "subtropical", 22.3, 114.2),
    _c("Seoul", "South Korea", "Asia", 9.4, False, True, "Korean", "Gyeongbokgung Palace", "continental", 37.6, 127.0),
    _c("Bangkok", "Thailand", "Asia", 10.5, False, True, "Thai", "the Grand Palace", "tropical", 13.8, 100.5),
    _c("Singapore", "Singapore", "Asia", 5.9, True, True, "English, Malay, Mandarin Chinese, Tamil", "Marina Bay Sands", "tropical", 1.4, 103.8),
    _c("Mumbai", "India", "Asia", 12.5, True, False, "Marathi, Hindi", "the Gateway of India", "tropical", 19.1, 72.9, "Bombay"),
    _c("New Delhi", "India", "Asia", 16.8, False, True, "Hindi, English", "India Gate", "subtropical", 28.6, 77.2, "Delhi"),
    _c("Dubai", "the United Arab Emirates", "Asia", 3.6, True, False, "Arabic, English", "the Burj Khalifa", "arid", 25.2, 55.3),
    _c("Jakarta", "Indonesia", "Asia", 10.6, True, True, "Indonesian", "the National Monument", "tropical", -6.2, 106.8),
    _c("Sydney", "Australia", "Oceania", 5.3, True, False, "English", "the Opera House on its harbour", "subtropical", -33.9, 151.2),
    _c("Melbourne", "Australia", "Oceania", 5.1, True, False, "English", "Federation Square", "oceanic", -37.8, 145.0),
    _c("Auckland", "New Zealand", "Oceania", 1.7, True, False, "English, Maori", "the Sky Tower", "oceanic", -36.8, 174.8),
    _c("Cairo", "Egypt", "Africa", 10.1, False, True, "Arabic", "the Pyramids of Giza", "arid", 30.0, 31.2),
    _c("Lagos", "Nigeria", "Africa", 15.0, True, False, "English, Yoruba", "the Third Mainland Bridge", "tropical", 6.5, 3.4),
    _c("Nairobi", "Kenya", "Africa", 4.4, False, True, "Swahili, English", "a national park with lions at the edge of the city", "highland", -1.3, 36.8),
    _c("Cape Town", "South Africa", "Africa", 4.7, True, True, "English, Afrikaans, Xhosa", "Table Mountain", "mediterranean", -33.9, 18.4),
    _c("Marrakesh", "Morocco", "Africa", 0.93, False, False, "Arabic, Berber", "the Jemaa el-Fnaa square", "arid", 31.6, -8.0, "Marrakech"),
    _c("New York City", "the United States", "North America", 8.3, True, False, "English", "the Statue of Liberty", "continental", 40.7, -74.0, "New York, NYC"),
    _c("Los Angeles", "the United States", "North America", 3.9, True, False, "English, Spanish", "the Hollywood Sign", "mediterranean", 34.1, -118.2, "LA"),
    _c("Chicago", "the United States", "North America", 2.7, False, False, "English", "Cloud Gate", "continental", 41.9, -87.6),
    _c("San Francisco", "the United States", "North America", 0.8, True, False, "English", "the Golden Gate Bridge", "mediterranean", 37.8, -122.4),
    _c("Washington", "the United States", "North America", 0.7, False, True, "English", "the White House", "subtropical", 38.9, -77.0, "Washington DC, Washington D.C."),
    _c("Toronto", "Canada", "North America", 2.8, False, False, "English", "the CN Tower", "continental", 43.7, -79.4),
    _c("Vancouver", "Canada", "North America", 0.66, True, False, "English", "Stanley Park", "oceanic", 49.3, -123.1),
    _c("Mexico City", "Mexico", "North America", 9.2, False, True, "Spanish", "the Palacio de Bellas Artes", "highland", 19.4, -99.1),
    _c("Havana", "Cuba", "North America", 2.1, True, True, "Spanish", "the Malecon seafront", "tropical", 23.1, -82.4),
    _c("Rio de Janeiro", "Brazil", "South America", 6.7, True, False, "Portuguese", "Christ the Redeemer", "tropical", -22.9, -43.2, "Rio"),
    _c("Sao Paulo", "Brazil", "South America", 12.3, False, False, "Portuguese", "Paulista Avenue", "subtropical", -23.6, -46.6),
    _c("Buenos Aires", "Argentina", "South America", 3.1, True, True, "Spanish", "the Obelisco", "subtropical", -34.6, -58.4),
    _c("Lima", "Peru", "South America", 9.7, True, True, "Spanish", "the Plaza Mayor", "arid", -12.0, -77.0),
    _c("Bogota", "Colombia", "South America", 7.4, False, True, "Spanish", "Monserrate", "highland", 4.7, -74.1),
    _c("Santiago", "Chile", "South America", 6.3, False, True, "Spanish", "San Cristobal Hill", "mediterranean", -33.4, -70.7),
)
# fmt: on

_BANDS = ((1.0, "under 1 million"), (5.0, "1 to 5 million"), (10.0, "5 to 10 million"))


def population_band(population_m: float) -> str:
    """The coarse band the oracle reports ("under 1 million" ... "over 10 million")."""
    for limit, band in _BANDS:
        if population_m < limit:
            return band
    return "over 10 million"


_BY_NAME = {fold(n): c for c in CITIES for n in c.names}


def city_by_name(name: str) -> City | None:
    """The city called ``name`` (canonical name or alias, any case, accents ignored)."""
    return _BY_NAME.get(fold(name))
