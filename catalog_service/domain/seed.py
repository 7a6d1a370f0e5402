"""A realistic catalog for the pilot malls, the same every time for the same seed and size.

Each retailer has one store in every mall and owns a share of the SKUs; every tenth retailer is
a department store that also carries other retailers' SKUs, so one SKU is often held by several
stores of a mall. Brand and retailer names come from disjoint word lists, so a product's brand
never spells a store's name.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from shared.malls import Mall

MAX_STORES_PER_MALL = 100
MAX_SKUS = 50_000
MAX_STOCK_SCALE = 10_000

_RETAILER_FIRST = (
    "Harbor", "Juniper", "Copper", "Meridian", "Willow", "Summit", "Atlas", "Beacon",
    "Cedar", "Driftwood", "Ember", "Foxglove", "Granite", "Hollis", "Ivory", "Kestrel",
)  # fmt: skip
_RETAILER_SECOND = (
    "Outfitters", "Supply Co.", "Boutique", "Emporium", "Goods", "Trading", "House",
    "Collective", "Department Store", "Mercantile",
)  # fmt: skip
_BRANDS = (
    "Aurelio", "Brisa", "Calloway", "Dunmore", "Elara", "Fenwick", "Galen", "Hartwell",
    "Isola", "Jarrow", "Kinsley", "Lumen", "Marlowe", "Nordvik", "Orla", "Pemberton",
    "Quill", "Rosalind", "Sable", "Tamsin", "Ulric", "Verity", "Wrenly", "Yarrow", "Zephra",
)  # fmt: skip
_CATEGORIES: dict[str, tuple[tuple[str, ...], int, int]] = {
    "apparel": (("Oxford Shirt", "Crew Tee", "Hoodie", "Slim Jeans", "Rain Jacket",
                 "Wrap Dress", "Merino Sweater", "Chino Pants"), 1_500, 14_000),
    "shoes": (("Court Sneaker", "Chelsea Boot", "Penny Loafer", "Trail Sandal",
               "Running Shoe"), 3_900, 22_000),
    "beauty": (("Matte Lipstick", "Vitamin C Serum", "Daily Moisturizer", "Eau de Parfum",
                "Mascara"), 900, 13_000),
    "electronics": (("Wireless Headphones", "USB-C Charger", "Bluetooth Speaker",
                     "Smartwatch Band", "Phone Case"), 1_500, 35_000),
    "home": (("Soy Candle", "Throw Blanket", "Stoneware Mug Set", "Linen Pillow Cover",
              "Picture Frame"), 1_200, 12_000),
    "toys": (("Jigsaw Puzzle", "Building Set", "Plush Bear", "Card Game"), 999, 8_000),
    "sports": (("Yoga Mat", "Insulated Water Bottle", "Running Shorts", "Gym Bag"),
               1_500, 9_000),
    "accessories": (("Leather Wallet", "Canvas Backpack", "Polarized Sunglasses",
                     "Wool Scarf", "Belt"), 1_900, 18_000),
}  # fmt: skip
_STYLES = ("Classic", "Everyday", "Relaxed", "Essential", "Heritage", "Studio", "Coastal", "Urban")
_COLORS = ("Black", "Navy", "Olive", "Sand", "Burgundy", "Heather Grey", "Ivory", "Sky Blue")
_AREA_CODES = {
    "fashion-show-las-vegas": "702",
    "chandler-fashion-center": "480",
    "tysons-corner-center": "703",
    "baybrook-friendswood": "281",
}
_LANDMARKS = ("the food court", "the north entrance", "the escalators", "guest services")


@dataclass(frozen=True, slots=True)
class SeedRetailer:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class SeedStore:
    id: str
    retailer_id: str
    mall_id: str
    name: str
    address: str
    phone: str
    lat: float
    lng: float
    prep_minutes: int
    pickup_instructions: str


@dataclass(frozen=True, slots=True)
class SeedProduct:
    sku: str
    retailer_id: str
    gtin: str
    title: str
    brand: str
    category: str
    price_cents: int
    currency: str
    image_urls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeedStock:
    store_id: str
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class SeedCatalog:
    retailers: list[SeedRetailer]
    stores: list[SeedStore]
    products: list[SeedProduct]
    stock: list[SeedStock]


def generate_catalog(
    malls: tuple[Mall, ...],
    stores_per_mall: int,
    skus: int,
    seed: int = 20261125,
    stock_scale: int = 1,
) -> SeedCatalog:
    """`stock_scale` multiplies every quantity (a load run sells the same few items thousands
    of times); the choice of what each store carries and which rows are zero stays the same."""
    if not 1 <= stock_scale <= MAX_STOCK_SCALE:
        raise ValueError(f"stock scale must be 1..{MAX_STOCK_SCALE}")
    if not 1 <= stores_per_mall <= MAX_STORES_PER_MALL:
        raise ValueError(f"stores per mall must be 1..{MAX_STORES_PER_MALL}")
    if not 1 <= skus <= MAX_SKUS:
        raise ValueError(f"SKUs must be 1..{MAX_SKUS}")
    rng = random.Random(seed)
    retailers = [
        SeedRetailer(f"ret-{index:03d}", _retailer_name(index)) for index in range(stores_per_mall)
    ]
    products = [_product(rng, index, retailers[index % len(retailers)].id) for index in range(skus)]
    owned: dict[str, list[str]] = {r.id: [] for r in retailers}
    for product in products:
        owned[product.retailer_id].append(product.sku)
    stores: list[SeedStore] = []
    stock: list[SeedStock] = []
    extra = min(300, skus // 10)
    for mall in malls:
        for index, retailer in enumerate(retailers):
            store = _store(rng, mall, index, retailer)
            stores.append(store)
            carried = [sku for sku in owned[retailer.id] if rng.random() < 0.8]
            if index % 10 == 0 and extra:
                carried_set = set(carried)
                carried += [p.sku for p in rng.sample(products, extra) if p.sku not in carried_set]
            for sku in carried:
                quantity = 0 if rng.random() < 0.1 else rng.randint(1, 15) * stock_scale
                stock.append(SeedStock(store.id, sku, quantity))
    return SeedCatalog(retailers, stores, products, stock)


def _retailer_name(index: int) -> str:
    first = _RETAILER_FIRST[index % len(_RETAILER_FIRST)]
    second = _RETAILER_SECOND[(index // len(_RETAILER_FIRST)) % len(_RETAILER_SECOND)]
    return f"{first} {second}"


def _product(rng: random.Random, index: int, retailer_id: str) -> SeedProduct:
    category = rng.choice(sorted(_CATEGORIES))
    nouns, low, high = _CATEGORIES[category]
    brand = rng.choice(_BRANDS)
    title = f"{brand} {rng.choice(_STYLES)} {rng.choice(nouns)}, {rng.choice(_COLORS)}"
    # Prices end in 99 cents, like the shelf tags they copy.
    price_cents = rng.randint(low // 100, high // 100) * 100 + 99
    sku = f"SKU-{index:06d}"
    return SeedProduct(
        sku=sku,
        retailer_id=retailer_id,
        gtin=_gtin(rng),
        title=title,
        brand=brand,
        category=category,
        price_cents=price_cents,
        currency="USD",
        image_urls=(f"https://images.mall-to-home.example/products/{sku}/1.jpg",),
    )


def _gtin(rng: random.Random) -> str:
    body = "0" + "".join(str(rng.randint(0, 9)) for _ in range(11))
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _store(rng: random.Random, mall: Mall, index: int, retailer: SeedRetailer) -> SeedStore:
    unit = 100 + index
    return SeedStore(
        id=f"store-{rng.getrandbits(48):012x}",
        retailer_id=retailer.id,
        mall_id=mall.id,
        name=f"{retailer.name} at {mall.name}",
        address=f"Unit {unit}, {mall.address}",
        phone=f"({_AREA_CODES.get(mall.id, '555')}) 555-{1000 + index:04d}",
        lat=round(mall.lat + rng.uniform(-0.0012, 0.0012), 6),
        lng=round(mall.lng + rng.uniform(-0.0012, 0.0012), 6),
        prep_minutes=rng.choice((10, 15, 20, 25)),
        pickup_instructions=(
            f"Pickup counter inside unit {unit}, level {1 + index % 2}, "
            f"near {_LANDMARKS[index % len(_LANDMARKS)]}. Show the order label."
        ),
    )
