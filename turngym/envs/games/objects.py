"""The object table of Twenty Questions: 102 everyday things with hand-written attributes.

Sizes are a rough largest dimension in centimetres (a dog is about 70 cm long, a car 450 cm);
they drive the oracle's "bigger than ..." answers. Colors ``("any",)`` mean the thing comes in
many colors, so a color question gets "it can be many colors" rather than yes or no.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATEGORIES", "OBJECTS", "GameObject", "object_by_name"]


@dataclass(frozen=True)
class GameObject:
    """One hidden object of Twenty Questions."""

    name: str
    """Canonical name, lower case (``"frying pan"``)."""
    category: str
    """Top-level category: animal, plant, food, vehicle, tool, furniture, electronics,
    clothing, instrument, kitchenware, household item or toy."""
    kind: str
    """Finer kind (mammal, bird, fruit, tree ...); equals ``category`` when there is none."""
    size_cm: float
    """Rough largest dimension in centimetres."""
    materials: tuple[str, ...]
    """What it is made of (``"flesh"`` for animals, ``"plant"`` for plants and fresh food)."""
    colors: tuple[str, ...]
    """Typical colors, or ``("any",)``."""
    places: tuple[str, ...]
    """Where one usually finds it (see ``PLACE_GROUPS`` in the oracle for broader words)."""
    tags: frozenset[str]
    """Yes/no traits: edible, wheels, flies, electric, wearable, sharp, ..."""
    aliases: tuple[str, ...] = ()
    """Other names that count as a correct guess."""

    @property
    def living(self) -> bool:
        """Animals and plants are alive; food, even fresh fruit, is not counted as living."""
        return self.category in ("animal", "plant")

    @property
    def man_made(self) -> bool:
        """Made by people: everything but animals, plants and unprocessed food."""
        return not self.living and "natural" not in self.tags

    @property
    def names(self) -> tuple[str, ...]:
        """Canonical name and aliases."""
        return (self.name, *self.aliases)


def _o(
    name: str,
    category: str,
    size_cm: float,
    materials: str,
    colors: str,
    places: str,
    tags: str = "",
    aliases: str = "",
) -> GameObject:
    # category "animal/mammal" gives category animal, kind mammal; places and aliases use
    # commas because some hold spaces ("living room", "teddy")
    category, _, kind = category.partition("/")
    return GameObject(
        name=name,
        category=category,
        kind=kind or category,
        size_cm=float(size_cm),
        materials=tuple(materials.split()),
        colors=tuple(colors.split()),
        places=tuple(p.strip() for p in places.split(",") if p.strip()),
        tags=frozenset(tags.split()),
        aliases=tuple(a.strip() for a in aliases.split(",") if a.strip()),
    )


# fmt: off
OBJECTS: tuple[GameObject, ...] = (
    # ---- animals ----
    _o("dog", "animal/mammal", 70, "flesh", "brown black white", "home,farm,park,street", "legs fur pet swims", "puppy"),
    _o("cat", "animal/mammal", 45, "flesh", "black white orange gray", "home,street", "legs fur pet predator", "kitten"),
    _o("horse", "animal/mammal", 240, "flesh", "brown black white", "farm,field", "legs fur rideable", "pony"),
    _o("cow", "animal/mammal", 250, "flesh", "black white brown", "farm,field", "legs fur"),
    _o("elephant", "animal/mammal", 600, "flesh", "gray", "zoo,savanna,jungle", "legs dangerous"),
    _o("lion", "animal/mammal", 250, "flesh", "yellow brown", "zoo,savanna", "legs fur dangerous predator"),
    _o("mouse", "animal/mammal", 15, "flesh", "gray brown white", "home,field", "legs fur pet", "rat"),
    _o("whale", "animal/mammal", 2500, "flesh", "blue gray", "ocean", "swims", "blue whale"),
    _o("eagle", "animal/bird", 90, "flesh", "brown white", "sky,mountain,forest", "legs feathers flies predator"),
    _o("chicken", "animal/bird", 50, "flesh", "white brown red", "farm", "legs feathers", "hen,rooster"),
    _o("penguin", "animal/bird", 100, "flesh", "black white", "ocean,zoo,beach", "legs feathers swims"),
    _o("shark", "animal/fish", 400, "flesh", "gray white", "ocean", "swims dangerous predator"),
    _o("goldfish", "animal/fish", 10, "flesh", "orange", "home,pond", "swims pet"),
    _o("snake", "animal/reptile", 150, "flesh", "green brown black", "jungle,desert,forest", "dangerous predator"),
    _o("turtle", "animal/reptile", 40, "flesh", "green brown", "pond,river,ocean,beach", "legs swims pet", "tortoise"),
    _o("frog", "animal/amphibian", 8, "flesh", "green", "pond,river,garden", "legs swims", "toad"),
    _o("butterfly", "animal/insect", 6, "flesh", "any", "garden,park,field", "legs flies"),
    _o("bee", "animal/insect", 1.5, "flesh", "yellow black", "garden,field", "legs flies dangerous", "honeybee"),
    _o("ant", "animal/insect", 0.5, "flesh", "black red", "garden,field,home", "legs"),
    _o("spider", "animal/arachnid", 2, "flesh", "black brown", "home,garden", "legs predator"),
    # ---- plants ----
    _o("oak tree", "plant/tree", 2000, "wood", "green brown", "forest,park", "", "oak"),
    _o("palm tree", "plant/tree", 1500, "wood", "green brown", "beach,desert", "", "palm"),
    _o("rose", "plant/flower", 50, "plant", "red pink white yellow", "garden", "sharp"),
    _o("sunflower", "plant/flower", 200, "plant", "yellow", "garden,field"),
    _o("cactus", "plant/cactus", 100, "plant", "green", "desert,home", "sharp"),
    # ---- food ----
    _o("apple", "food/fruit", 8, "plant", "red green yellow", "kitchen,farm", "edible sweet natural"),
    _o("banana", "food/fruit", 20, "plant", "yellow", "kitchen,jungle", "edible sweet natural"),
    _o("strawberry", "food/fruit", 3, "plant", "red", "kitchen,garden", "edible sweet natural"),
    _o("lemon", "food/fruit", 8, "plant", "yellow", "kitchen", "edible natural"),
    _o("watermelon", "food/fruit", 35, "plant", "green red", "kitchen,farm", "edible sweet natural", "melon"),
    _o("carrot", "food/vegetable", 18, "plant", "orange", "kitchen,garden,farm", "edible natural"),
    _o("potato", "food/vegetable", 10, "plant", "brown yellow", "kitchen,farm", "edible natural"),
    _o("onion", "food/vegetable", 8, "plant", "white brown purple", "kitchen,farm", "edible natural"),
    _o("bread", "food/baked good", 30, "dough", "brown", "kitchen,shop", "edible", "loaf"),
    _o("cheese", "food/dairy", 15, "milk", "yellow white", "kitchen,shop", "edible"),
    _o("egg", "food/egg", 6, "shell", "white brown", "kitchen,farm", "edible natural"),
    _o("pizza", "food/dish", 30, "dough", "red yellow", "kitchen,restaurant", "edible"),
    _o("chocolate", "food/sweet", 15, "cocoa", "brown", "kitchen,shop", "edible sweet"),
    _o("ice cream", "food/dessert", 10, "milk", "any", "kitchen,shop", "edible sweet cold"),
    # ---- vehicles ----
    _o("car", "vehicle", 450, "metal", "any", "street,garage", "wheels engine rideable"),
    _o("bicycle", "vehicle", 180, "metal", "any", "street,garage,park", "wheels rideable sport", "bike"),
    _o("motorcycle", "vehicle", 210, "metal", "any", "street,garage", "wheels engine rideable", "motorbike"),
    _o("bus", "vehicle", 1200, "metal", "yellow red", "street", "wheels engine rideable"),
    _o("train", "vehicle", 20000, "metal", "any", "station", "wheels engine rideable"),
    _o("airplane", "vehicle", 4000, "metal", "white", "sky,airport", "wheels engine flies rideable", "plane,aeroplane,jet"),
    _o("helicopter", "vehicle", 1200, "metal", "any", "sky,airport", "engine flies rideable"),
    _o("boat", "vehicle", 600, "wood metal", "white", "ocean,river,pond", "floats rideable", "ship"),
    # ---- tools ----
    _o("hammer", "tool", 30, "metal wood", "black silver", "workshop,garage"),
    _o("screwdriver", "tool", 20, "metal plastic", "red yellow silver", "workshop,garage"),
    _o("saw", "tool", 60, "metal wood", "silver", "workshop,garage", "sharp cut dangerous"),
    _o("scissors", "tool", 18, "metal plastic", "silver", "office,school,home", "sharp cut"),
    _o("shovel", "tool", 120, "metal wood", "gray", "garden,garage", "", "spade"),
    _o("ladder", "tool", 300, "metal wood", "silver", "garage,workshop", "legs"),
    # ---- furniture ----
    _o("chair", "furniture", 90, "wood", "brown", "home,office,school", "legs sit"),
    _o("table", "furniture", 150, "wood", "brown", "home,kitchen,office", "legs"),
    _o("bed", "furniture", 200, "wood fabric", "any", "bedroom", "legs sit soft"),
    _o("sofa", "furniture", 200, "fabric wood", "any", "living room", "sit soft", "couch"),
    _o("bookshelf", "furniture", 180, "wood", "brown", "home,office,library", "", "bookcase"),
    # ---- electronics ----
    _o("television", "electronics", 120, "plastic glass", "black", "living room", "electric screen", "tv"),
    _o("smartphone", "electronics", 15, "glass metal", "black", "home,pocket", "electric screen", "phone,mobile phone,cell phone"),
    _o("laptop", "electronics", 35, "plastic metal", "silver black", "office,home,school", "electric screen", "computer"),
    _o("refrigerator", "electronics", 180, "metal", "white silver", "kitchen", "electric cold", "fridge"),
    _o("microwave", "electronics", 50, "metal", "white black", "kitchen", "electric cook", "microwave oven"),
    _o("lamp", "electronics", 50, "metal glass", "any", "home,office", "electric light"),
    _o("camera", "electronics", 12, "plastic metal", "black", "home", "electric"),
    _o("headphones", "electronics", 20, "plastic", "black", "home", "electric music wearable", "earphones"),
    # ---- clothing ----
    _o("shoe", "clothing", 28, "leather rubber", "any", "home,wardrobe", "wearable", "sneaker,boot"),
    _o("hat", "clothing", 30, "fabric", "any", "wardrobe", "wearable", "cap"),
    _o("shirt", "clothing", 70, "fabric", "any", "wardrobe", "wearable soft", "t-shirt"),
    _o("sock", "clothing", 25, "fabric", "any", "wardrobe", "wearable soft"),
    _o("jacket", "clothing", 70, "fabric leather", "any", "wardrobe", "wearable", "coat"),
    _o("glove", "clothing", 22, "fabric leather", "any", "wardrobe", "wearable soft", "mitten"),
    _o("sunglasses", "clothing", 14, "plastic glass", "black", "beach,pocket", "wearable", "glasses"),
    # ---- instruments ----
    _o("guitar", "instrument", 100, "wood", "brown", "home,stage", "music"),
    _o("piano", "instrument", 150, "wood", "black white", "home,stage", "music legs"),
    _o("drum", "instrument", 60, "wood", "any", "stage", "music"),
    _o("violin", "instrument", 60, "wood", "brown", "stage", "music", "fiddle"),
    _o("trumpet", "instrument", 50, "metal", "gold", "stage", "music"),
    _o("flute", "instrument", 65, "metal", "silver", "stage", "music"),
    # ---- kitchenware ----
    _o("spoon", "kitchenware", 17, "metal", "silver", "kitchen", "eat_with"),
    _o("fork", "kitchenware", 19, "metal", "silver", "kitchen", "eat_with sharp"),
    _o("knife", "kitchenware", 22, "metal", "silver", "kitchen", "eat_with sharp cut dangerous"),
    _o("cup", "kitchenware", 10, "ceramic", "any", "kitchen", "holds_liquid", "mug"),
    _o("plate", "kitchenware", 26, "ceramic", "white", "kitchen", "eat_with"),
    _o("frying pan", "kitchenware", 45, "metal", "black", "kitchen", "cook", "pan,skillet"),
    _o("kettle", "kitchenware", 25, "metal plastic", "silver white", "kitchen", "electric holds_liquid"),
    # ---- household items ----
    _o("book", "household item", 24, "paper", "any", "library,home,school", "read"),
    _o("pencil", "household item", 18, "wood", "yellow", "school,office", "write"),
    _o("key", "household item", 6, "metal", "silver gold", "pocket,home", "unlock"),
    _o("umbrella", "household item", 90, "fabric metal", "black", "street,home", "rain"),
    _o("clock", "household item", 30, "plastic glass", "any", "home,office,school", "tell_time"),
    _o("candle", "household item", 20, "wax", "white", "home", "light dangerous"),
    _o("toothbrush", "household item", 19, "plastic", "any", "bathroom", "clean"),
    _o("pillow", "household item", 50, "fabric", "white", "bedroom", "soft", "cushion"),
    _o("mirror", "household item", 60, "glass", "silver", "bathroom,bedroom"),
    _o("coin", "household item", 2.5, "metal", "gold silver", "pocket,shop", "money"),
    # ---- toys ----
    _o("ball", "toy", 22, "rubber leather", "any", "park,field,school", "sport", "football,soccer ball"),
    _o("kite", "toy", 100, "paper fabric", "any", "park,beach,sky", "flies"),
    _o("teddy bear", "toy", 35, "fabric", "brown", "bedroom", "soft", "teddy"),
    _o("skateboard", "toy", 80, "wood", "any", "street,park", "wheels rideable sport"),
    _o("doll", "toy", 30, "plastic fabric", "any", "bedroom"),
    _o("balloon", "toy", 30, "rubber", "any", "home,park", "flies"),
)
# fmt: on

CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(o.category for o in OBJECTS))
"""The top-level categories, in table order."""

_BY_NAME = {n: o for o in OBJECTS for n in o.names}


def object_by_name(name: str) -> GameObject | None:
    """The object called ``name`` (canonical name or alias, any case), or None."""
    return _BY_NAME.get(name.strip().lower())
