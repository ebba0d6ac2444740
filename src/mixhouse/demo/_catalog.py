"""Static vocabularies for the demo data generator (no randomness here; the generator draws from these)."""

from __future__ import annotations

from typing import Any

SITE = "https://shop.example.com"

# --- event names ------------------------------------------------------------------------------------------------

SIGN_UP = "Sign Up"
LOG_IN = "Log In"
VIEW_ITEM = "View Item"
ADD_TO_CART = "Add To Cart"
BEGIN_CHECKOUT = "Begin Checkout"
PURCHASE = "Purchase"
SEARCH = "Search"
VIEW_CATEGORY = "View Category"
PAGE_VIEW = "Page View"

#: Browsing events, most frequent first; their volumes follow a Zipf-like law (weight 1 / rank^1.05).
GENERIC_EVENTS: tuple[str, ...] = (
    PAGE_VIEW,
    VIEW_ITEM,
    SEARCH,
    VIEW_CATEGORY,
    "View Home",
    "View Cart",
    "Add To Wishlist",
    "Click Banner",
    "View Promotion",
    "Share Item",
    "Read Review",
    "Compare Items",
    "Filter Results",
    "Watch Video",
    "View Orders",
    "Apply Coupon",
    "Contact Support",
    "Write Review",
    "Update Profile",
    "Change Settings",
    "Enable Notifications",
    "Invite Friend",
    "Subscribe Newsletter",
    "Upgrade Plan",
)

#: Generic events an anonymous visitor cannot perform.
LOGGED_IN_ONLY: frozenset[str] = frozenset(
    {"View Orders", "Write Review", "Update Profile", "Change Settings", "Invite Friend", "Upgrade Plan"}
)

#: Events driven by the user's state (identity, cart), not drawn from the generic table.
STATEFUL_EVENTS: tuple[str, ...] = (SIGN_UP, LOG_IN, ADD_TO_CART, BEGIN_CHECKOUT, PURCHASE)

EVENT_PATHS: dict[str, str] = {
    SIGN_UP: "/signup",
    LOG_IN: "/login",
    BEGIN_CHECKOUT: "/checkout",
    PURCHASE: "/checkout/complete",
    "View Home": "/",
    "View Cart": "/cart",
    "Add To Wishlist": "/wishlist",
    "Click Banner": "/",
    "View Promotion": "/deals",
    "Share Item": "/share",
    "Read Review": "/reviews",
    "Compare Items": "/compare",
    "Filter Results": "/search",
    "Watch Video": "/videos",
    "View Orders": "/account/orders",
    "Apply Coupon": "/cart",
    "Contact Support": "/support",
    "Write Review": "/reviews/new",
    "Update Profile": "/account/profile",
    "Change Settings": "/account/settings",
    "Enable Notifications": "/account/notifications",
    "Invite Friend": "/invite",
    "Subscribe Newsletter": "/newsletter",
    "Upgrade Plan": "/pricing",
}

PAGE_PATHS: tuple[str, ...] = ("/", "/deals", "/new", "/blog", "/about", "/pricing", "/help", "/careers")

# --- shop catalogue ---------------------------------------------------------------------------------------------

CATEGORIES: tuple[str, ...] = (
    "Electronics",
    "Books",
    "Home",
    "Fashion",
    "Sports",
    "Toys",
    "Beauty",
    "Garden",
    "Grocery",
)
ITEM_ADJECTIVES: tuple[str, ...] = (
    "Classic", "Smart", "Compact", "Deluxe", "Eco", "Ultra", "Vintage", "Pro", "Mini", "Premium",
    "Travel", "Wireless", "Organic", "Modern",
)  # fmt: skip
CATEGORY_NOUNS: dict[str, tuple[str, ...]] = {
    "Electronics": ("Headphones", "Speaker", "Charger", "Keyboard", "Monitor", "Camera"),
    "Books": ("Novel", "Cookbook", "Atlas", "Biography", "Comic", "Guide"),
    "Home": ("Lamp", "Blanket", "Mug", "Vase", "Pillow", "Clock"),
    "Fashion": ("Jacket", "Sneakers", "Scarf", "Backpack", "Sunglasses", "Watch"),
    "Sports": ("Yoga Mat", "Bottle", "Racket", "Helmet", "Dumbbells", "Tent"),
    "Toys": ("Puzzle", "Robot", "Kite", "Blocks", "Board Game", "Plush"),
    "Beauty": ("Serum", "Lotion", "Perfume", "Brush Set", "Shampoo", "Lip Balm"),
    "Garden": ("Planter", "Hose", "Seeds", "Shears", "Lantern", "Bench"),
    "Grocery": ("Coffee", "Tea", "Olive Oil", "Chocolate", "Granola", "Honey"),
}
TAGS: tuple[str, ...] = (
    "sale", "new", "bestseller", "eco", "gift-idea", "limited", "premium", "bundle", "clearance", "trending",
)  # fmt: skip
SEARCH_TERMS: tuple[str, ...] = (
    "headphones", "gift", "coffee", "shoes", "laptop stand", "yoga", "lamp", "book", "sale", "backpack",
    "tent", "perfume", "board game", "tea", "camera", "jacket", "charger", "plant", "chocolate", "watch",
)  # fmt: skip
SIGNUP_METHODS: tuple[str, ...] = ("email", "google", "apple", "github")
SIGNUP_METHOD_WEIGHTS: tuple[float, ...] = (50, 30, 15, 5)
PAYMENT_METHODS: tuple[str, ...] = ("card", "paypal", "apple_pay", "google_pay", "bank_transfer")
PAYMENT_METHOD_WEIGHTS: tuple[float, ...] = (55, 20, 12, 9, 4)

PLANS: tuple[str, ...] = ("free", "starter", "pro", "enterprise")
PLAN_WEIGHTS: tuple[float, ...] = (60, 25, 12, 3)

# --- people and companies ---------------------------------------------------------------------------------------

FIRST_NAMES: tuple[str, ...] = (
    "Ava", "Liam", "Olivia", "Noah", "Emma", "Lucas", "Mia", "Mateo", "Sofia", "Leo", "Amelia", "Elijah",
    "Hana", "Kenji", "Priya", "Arjun", "Chloe", "Hugo", "Lena", "Jonas", "Zoe", "Omar", "Aisha", "Diego",
    "Yuki", "Ivan", "Nora", "Felix", "Maya", "Samuel", "Ines", "Tariq", "Freya", "Luca", "Grace", "Ethan",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Garcia", "Mueller", "Rossi", "Kim", "Nguyen", "Patel", "Silva", "Johnson", "Dubois",
    "Kowalski", "Tanaka", "Okafor", "Jensen", "Cohen", "Brown", "Lopez", "Novak", "Singh", "Larsen",
    "Moreau", "Schmidt", "Ivanova", "Costa", "Walker", "Haddad", "Fischer", "Sato", "Murphy", "Reyes",
)  # fmt: skip
COMPANY_PREFIXES: tuple[str, ...] = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Tyrell",
    "Cyberdyne", "Wonka", "Aperture", "Gringotts", "Monarch", "Oscorp", "Pied Piper", "Dunder", "Massive",
    "Blue Sun", "Nakatomi", "Weyland", "Zorg", "Virtucon", "Nimbus",
)  # fmt: skip
COMPANY_SUFFIXES: tuple[str, ...] = (
    "Labs", "Inc", "Systems", "Group", "Analytics", "Co", "Dynamics", "Partners", "Studio", "Works",
    "Holdings", "Logistics",
)  # fmt: skip
INDUSTRIES: tuple[str, ...] = (
    "Software", "Retail", "Finance", "Healthcare", "Education", "Media", "Manufacturing", "Logistics",
    "Travel", "Real Estate",
)  # fmt: skip

# --- environment: geography, devices, traffic sources -----------------------------------------------------------

#: (city, region, country code); listed roughly by traffic, drawn with Zipf-like weights.
CITIES: tuple[tuple[str, str, str], ...] = (
    ("San Francisco", "California", "US"),
    ("New York", "New York", "US"),
    ("London", "England", "GB"),
    ("Los Angeles", "California", "US"),
    ("Berlin", "Land Berlin", "DE"),
    ("Chicago", "Illinois", "US"),
    ("Paris", "Île-de-France", "FR"),
    ("Toronto", "Ontario", "CA"),
    ("Austin", "Texas", "US"),
    ("Seattle", "Washington", "US"),
    ("Bengaluru", "Karnataka", "IN"),
    ("Amsterdam", "North Holland", "NL"),
    ("São Paulo", "São Paulo", "BR"),
    ("Sydney", "New South Wales", "AU"),
    ("Boston", "Massachusetts", "US"),
    ("Madrid", "Madrid", "ES"),
    ("Tokyo", "Tokyo", "JP"),
    ("Munich", "Bavaria", "DE"),
    ("Singapore", "Singapore", "SG"),
    ("Dublin", "Leinster", "IE"),
    ("Mumbai", "Maharashtra", "IN"),
    ("Denver", "Colorado", "US"),
    ("Stockholm", "Stockholm", "SE"),
    ("Mexico City", "Mexico City", "MX"),
    ("Manchester", "England", "GB"),
    ("Vancouver", "British Columbia", "CA"),
    ("Barcelona", "Catalonia", "ES"),
    ("Milan", "Lombardy", "IT"),
    ("Seoul", "Seoul", "KR"),
    ("Atlanta", "Georgia", "US"),
    ("Warsaw", "Mazovia", "PL"),
    ("Melbourne", "Victoria", "AU"),
    ("Tel Aviv", "Tel Aviv", "IL"),
    ("Lyon", "Auvergne-Rhône-Alpes", "FR"),
    ("Buenos Aires", "Buenos Aires F.D.", "AR"),
    ("Miami", "Florida", "US"),
    ("Lagos", "Lagos", "NG"),
    ("Cape Town", "Western Cape", "ZA"),
    ("Auckland", "Auckland", "NZ"),
    ("Dubai", "Dubai", "AE"),
)


def device_profiles() -> list[tuple[dict[str, Any], float, bool]]:
    """(default properties, weight, is_web) for every device/browser/OS combination the demo uses."""
    out: list[tuple[dict[str, Any], float, bool]] = []
    desktop_widths = ((1920, 1080, 30), (1536, 864, 14), (1440, 900, 14), (1366, 768, 12), (2560, 1440, 8),
                      (1280, 720, 6), (1680, 1050, 5))  # fmt: skip
    desktop: tuple[tuple[str, str, tuple[float, ...], float], ...] = (
        ("Chrome", "Windows", (120, 121, 122, 123, 124, 125), 30.0),
        ("Chrome", "Mac OS X", (121, 122, 123, 124, 125), 14.0),
        ("Safari", "Mac OS X", (16.6, 17.3, 17.4, 17.5), 9.0),
        ("Microsoft Edge", "Windows", (122, 123, 124, 125), 7.0),
        ("Firefox", "Windows", (123, 124, 125, 126), 4.0),
        ("Firefox", "Linux", (124, 125, 126), 1.5),
        ("Chrome", "Linux", (123, 124, 125), 1.5),
    )
    for browser, os_name, versions, weight in desktop:
        for vi, version in enumerate(versions):
            vweight = weight * (vi + 1) / sum(range(1, len(versions) + 1))
            for width, height, wweight in desktop_widths:
                props: dict[str, Any] = {
                    "$browser": browser,
                    "$browser_version": version,
                    "$os": os_name,
                    "$screen_width": width,
                    "$screen_height": height,
                    "mp_lib": "web",
                    "$lib_version": "2.55.1",
                }
                out.append((props, vweight * wweight / 89.0, True))
    mobile_web: tuple[tuple[str, str, str, tuple[float, ...], tuple[tuple[int, int], ...], float], ...] = (
        ("Mobile Safari", "iOS", "iPhone", (16.6, 17.4, 17.5), ((390, 844), (393, 852), (430, 932), (375, 667)), 12.0),
        ("Chrome", "Android", "Android", (123, 124, 125), ((412, 915), (393, 873), (360, 800), (384, 854)), 8.0),
        ("Samsung Internet", "Android", "Android", (24, 25), ((412, 915), (360, 780)), 1.5),
    )
    for browser, os_name, device, versions, screens, weight in mobile_web:
        for vi, version in enumerate(versions):
            vweight = weight * (vi + 1) / sum(range(1, len(versions) + 1))
            for si, (width, height) in enumerate(screens):
                props = {
                    "$browser": browser,
                    "$browser_version": version,
                    "$os": os_name,
                    "$device": device,
                    "$screen_width": width,
                    "$screen_height": height,
                    "mp_lib": "web",
                    "$lib_version": "2.55.1",
                }
                out.append((props, vweight / (si + 1) / sum(1 / (k + 1) for k in range(len(screens))), True))
    apps = (
        ("swift", "iOS", "iPhone", ("iPhone15,2", "iPhone14,5", "iPhone16,1"), (393, 390, 393), "4.2.0", 7.0),
        ("android", "Android", "Pixel 7", ("Pixel 7", "Pixel 8", "SM-S911B"), (412, 412, 384), "7.5.2", 5.0),
    )
    for lib, os_name, device, models, widths, lib_version, weight in apps:
        for mi, model in enumerate(models):
            props = {
                "$os": os_name,
                "$device": device,
                "$model": model,
                "$screen_width": widths[mi],
                "$app_version_string": "3.8." + str(mi),
                "mp_lib": lib,
                "$lib_version": lib_version,
            }
            out.append((props, weight / len(models), False))
    return out


#: (referrer, referring domain, utm_source or None, utm_medium, utm_campaign, weight)
REFERRERS: tuple[tuple[str, str, str | None, str, str, float], ...] = (
    ("$direct", "$direct", None, "", "", 34.0),
    ("https://www.google.com/", "www.google.com", None, "", "", 24.0),
    ("https://www.google.com/", "www.google.com", "google", "cpc", "spring_sale", 8.0),
    ("https://www.facebook.com/", "www.facebook.com", "facebook", "social", "retargeting", 7.0),
    ("https://mail.google.com/", "mail.google.com", "newsletter", "email", "weekly_digest", 5.0),
    ("https://www.bing.com/", "www.bing.com", None, "", "", 4.0),
    ("https://t.co/", "t.co", "twitter", "social", "launch", 3.0),
    ("https://www.linkedin.com/", "www.linkedin.com", "linkedin", "social", "b2b", 3.0),
    ("https://www.reddit.com/", "www.reddit.com", None, "", "", 3.0),
    ("https://www.youtube.com/", "www.youtube.com", "youtube", "video", "unboxing", 3.0),
    ("https://news.ycombinator.com/", "news.ycombinator.com", None, "", "", 2.0),
    ("https://duckduckgo.com/", "duckduckgo.com", None, "", "", 2.0),
    ("https://www.producthunt.com/", "www.producthunt.com", "producthunt", "referral", "launch", 1.0),
)

#: Relative traffic by UTC hour of day (a blend of American and European evenings).
HOURLY_WEIGHTS: tuple[float, ...] = (
    0.62, 0.55, 0.46, 0.38, 0.32, 0.30, 0.33, 0.42, 0.55, 0.68, 0.78, 0.85,
    0.90, 0.95, 1.00, 1.00, 0.98, 0.97, 0.98, 1.00, 0.97, 0.90, 0.80, 0.70,
)  # fmt: skip
#: Relative traffic by weekday, Monday first.
WEEKDAY_WEIGHTS: tuple[float, ...] = (1.00, 1.04, 1.05, 1.03, 0.96, 0.74, 0.70)
