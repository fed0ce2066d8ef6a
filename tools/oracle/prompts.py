"""Prompt texts for the fixture tokenizer: a training corpus and the test prompts.

TRAIN_PROMPTS trains the tiny Unigram spiece.model (tools/oracle/tokenizer.py). It is plain English
captions plus a few accented words, digits and punctuation, so those get pieces; CJK, emoji and
most symbols are left out on purpose so the tests see <unk>.

TEST_PROMPTS are the prompts whose ids tests/fixtures/models/tokenizer_ids.json records.
"""

import random

HANDWRITTEN = [
    "a red star on a striped blue background",
    "a photo of a cat sitting on a wooden table",
    "a dog running on the beach at sunset",
    "an astronaut riding a horse on the moon",
    "a bowl of fresh fruit on a kitchen counter",
    "a small house in the mountains covered with snow",
    "a portrait of an old man with a long white beard",
    "a cup of coffee next to an open book",
    "a city street at night with neon lights and rain",
    "a watercolor painting of a lighthouse by the sea",
    "a green apple and a yellow banana",
    "two children playing football in a park",
    "a vintage car parked in front of a brick wall",
    "a bird sitting on a branch in spring",
    "an oil painting of a sunflower field",
    "a close-up photo of a butterfly on a flower",
    "a teddy bear wearing a knitted scarf",
    "a plate of pasta with tomato sauce and basil",
    "a sailboat on a calm lake at dawn",
    "a robot reading a newspaper in a cafe",
    "a snowy forest with tall pine trees",
    "a bicycle leaning against a blue door",
    "a golden retriever puppy in the grass",
    "the eiffel tower under a cloudy sky",
    "a glass of orange juice on a white table",
    "a woman with curly hair smiling at the camera",
    "a man in a black suit holding an umbrella",
    "a castle on a hill surrounded by fog",
    "a pizza with mushrooms, olives and cheese",
    "a colorful hot air balloon over the desert",
    "a cute owl sitting on a tree at night",
    "a train crossing a bridge over a river",
    "a futuristic city with flying cars",
    "a pencil sketch of a horse",
    "an elephant walking through tall grass",
    "a bouquet of pink roses in a glass vase",
    "a lion resting under a tree in the savanna",
    "a cozy living room with a fireplace",
    "a mountain lake reflecting the sky",
    "a street market full of vegetables",
    "a blue whale swimming in the deep ocean",
    "a chocolate cake with strawberries on top",
    "a pair of red shoes on a wooden floor",
    "a tiger with bright orange fur",
    "an empty road through a desert",
    "a child drawing with crayons",
    "a cathedral with stained glass windows",
    "a fox in the snow looking at the camera",
    "a small boat in a harbor",
    "a rainbow over a green valley",
    "a dragon flying over a medieval village",
    "a panda eating bamboo",
    "a jar of honey with a wooden spoon",
    "a rocket launching into space",
    "a frog on a lily pad",
    "a vase with yellow tulips",
    "a man playing guitar on a stage",
    "a lamp on a desk next to a laptop",
    "a squirrel holding a nut",
    "a chess board with wooden pieces",
    "a waterfall in a tropical jungle",
    "a wolf howling at the full moon",
    "a penguin standing on the ice",
    "a girl reading a book under a tree",
    "a bridge in paris at sunrise",
    "a red umbrella in the rain",
    "a basket of apples in an orchard",
    "a knight in shining armor",
    "an old map on a wooden table",
    "a koala sleeping in a eucalyptus tree",
    "a sandcastle on the beach",
    "a pumpkin patch in autumn",
    "a white horse galloping in a field",
    "a kitten playing with a ball of yarn",
    "a cup of tea with lemon",
    "a skyscraper made of glass",
    "a sunset over the ocean with palm trees",
    "a baker holding a loaf of bread",
    "a field of lavender in provence",
    "a hamburger with fries and a soda",
    "a stack of pancakes with maple syrup",
    "a tree house in a big oak tree",
    "a night sky full of stars",
    "a yellow taxi in new york",
    "a girl with a red balloon",
    "a snowman with a carrot nose",
    "a garden with a stone path",
    "a monkey swinging from a vine",
    "an ice cream cone with three scoops",
    "a pirate ship on stormy seas",
    "a wooden cabin by a lake",
    "a blue bird on a fence",
    "the same photo but in black and white",
    "make the sky pink",
    "turn the cat into a dog",
    "replace the apple with an orange",
    "add a hat to the man",
    "change the season to winter",
    "a cafe in montmartre with a crème brûlée",
    "a naïve painting of a café",
    "a jalapeño pizza at a fiesta",
    "a façade in the old town of zürich",
    "a smörgåsbord on a long table",
    "an über cool robot",
    "a piñata at a birthday party",
    "a résumé on a desk",
    "a 3d render of a cube",
    "a 1960s poster of a car",
    "a photo taken in 2024 with a 50mm lens",
    "4k, highly detailed, 8k wallpaper",
    "a sign that says 'open 24/7'",
    "a room with 2 chairs and 1 table",
    "a clock showing 10:30",
    "price: $9.99 (on sale!)",
    "a cat? a dog! a bird...",
    "a recipe card: 3 eggs; 200g flour; 100ml milk",
    "a t-shirt with the number 42",
    "50% off - everything must go",
    "a smiling face :-)",
    "an email address like name@example.com",
    "a hashtag #sunset and a tag @friend",
    "red, green & blue stripes",
    "a quote: \"less is more\"",
    "a*b=c and x+y=z",
    "1, 2, 3, 4, 5, 6, 7, 8, 9, 10",
    "A Photo Of The Eiffel Tower In Paris",
    "New York City At Night, Times Square",
    "The Golden Gate Bridge In San Francisco",
    "Mount Fuji In Japan With Cherry Blossoms",
    "Van Gogh's Starry Night Over The Rhone",
    "The Great Wall Of China In Winter",
    "Queen Elizabeth And King Charles",
    "A Logo For A Coffee Shop Called Blue Moon",
    "Vintage Poster: Visit Rome, Italy!",
    "Harry Potter Reading A Book In The Library",
    "The Mona Lisa Wearing Sunglasses",
    "Quick Brown Fox Jumps Over The Lazy Dog",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz",
    "Zebra, Xylophone, Yacht, Jaguar, Kangaroo, Unicorn, Igloo, Walrus",
]

COLORS = ["red", "blue", "green", "yellow", "black", "white", "pink", "purple", "orange", "brown",
          "gray", "golden", "silver"]
ADJECTIVES = ["small", "big", "old", "new", "shiny", "fluffy", "striped", "wooden", "glass", "tiny",
              "giant", "happy", "sleepy", "bright", "dark", "beautiful", "strange", "ancient"]
OBJECTS = ["cat", "dog", "car", "house", "tree", "flower", "star", "cup", "chair", "boat", "bird",
           "mountain", "clock", "guitar", "hat", "lamp", "book", "cake", "horse", "fish", "robot",
           "bicycle", "window", "door", "apple", "moon", "cloud", "river", "bridge", "street"]
PLACES = ["on a table", "in a garden", "on the beach", "in the forest", "in a city", "on a hill",
          "under the sea", "in space", "at night", "in the snow", "in the rain", "on a shelf",
          "next to a window", "in a field", "by the river", "in a kitchen"]
STYLES = ["a photo of", "a painting of", "a drawing of", "a 3d render of", "an illustration of",
          "a picture of", "a sketch of", "a watercolor of", "a close-up of", "a poster of"]
BACKGROUNDS = ["on a striped blue background", "on a white background", "with a blurry background",
               "on a dark background", "on a checkered background", "with soft light",
               "in the style of van gogh", "in high resolution", "with dramatic lighting"]


def generated(n, seed=1234):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = [rng.choice(STYLES), "a", rng.choice(ADJECTIVES), rng.choice(COLORS),
                 rng.choice(OBJECTS), rng.choice(PLACES)]
        if rng.random() < 0.5:
            parts.append(rng.choice(BACKGROUNDS))
        text = " ".join(parts).replace(" a a", " an a").replace(" a o", " an o")
        if rng.random() < 0.2:
            text = text.capitalize()
        out.append(text)
    return out


TRAIN_PROMPTS = HANDWRITTEN + generated(360)

LONG = ("a very detailed photo of a small red house with a green door and two windows standing on "
        "a hill next to a tall old tree under a bright blue sky with white clouds while a black "
        "cat sleeps on the roof and a brown dog plays in the garden with a yellow ball near a "
        "wooden fence and a river flows behind the house towards the mountains covered with snow "
        "and a small boat with a white sail floats on the water as birds fly over the trees in "
        "the warm light of the evening sun and children run across the field with colorful kites "
        "in their hands laughing loudly")

TEST_PROMPTS = [
    "a red star on a striped blue background",
    "A Photo Of A Cat",
    "",
    " ",
    "   leading and trailing spaces   ",
    "repeated    spaces   between     words",
    "tabs\tand\nnewlines\r\nmixed",
    "café crème brûlée, naïve façade, jalapeño",
    "Zoë and Björn in Zürich",
    "東京の夜景 a night view of tokyo",
    "a cat 🐱 and a dog 🐶 with a ❤️",
    "ＦＵＬＬ－ＷＩＤＴＨ ｔｅｘｔ １２３",
    "ﬁne ﬂowers, ﬀ ligature and the ½ sign, ™ and №5",
    "numbers 0123456789 and 3.14159, 1,000,000",
    "punctuation!!! ?? ... -- (brackets) [square] {curly} <angle>",
    "quotes \"double\" 'single' “curly” ‘curly’ «guillemets»",
    "mixed… ellipsis — em dash – en dash",
    "x²+y³ and H₂O, ①②③",
    "a\u00a0non-breaking space and a\u3000ideographic space",
    "zero\u200bwidth\u200djoiner and soft\u00adhyphen",
    "combining e\u0301 vs precomposed é",
    "ÅNGSTRÖM in capitals and ångström",
    "ｱｲｳ half-width katakana",
    "Ω ohm sign and K kelvin sign",
    "a\u2028line separator",
    "<pad> </s> <unk> are not special inside text",
    "an über cool robot",
    LONG,
    LONG + " " + LONG,
    ("word " * 150).strip(),
    "⁇ unk surface",
    "\u0000control\u0007chars\u001b",
    # Two equal-score segmentations (f+ff vs ff+f) whose f32 path sums round apart: sentencepiece
    # keeps the first unless the later one is larger after rounding to f32.
    "\uac1f\uac17\uac08\uac08\tbackground\t\ufb01\ufb02\ufb00\ufb01\n\uac03\uac01\uac06\t\\VBr\non "
    "\u3000 \u0364 \u3000 of background  \u4e1b\u4e2f  _8s\ncat",
    "background\t\ufb04\ufb00\ufb01\t\ufe01\ufe04\ufe04\ufe0c \u3000 the "
    "\uac19\uac14\uac1c\uac05striped\t\ufb01\ufb01\ufb01 \u3000 '&1 \u3000 the  \U0001d43b\U0001d403  ",
]

# Random texts for a differential check: words mixed with characters from ranges nmt_nfkc
# rewrites (controls, Latin-1, general punctuation, letterlike symbols, CJK and full-width forms,
# emoji, combining marks, ligatures, Hangul, math alphanumerics, enclosed numbers, variation
# selectors, Arabic) and assorted whitespace.
RANDOM_RANGES = [(0x20, 0x7E)] * 6 + [
    (0x00, 0x1F), (0xA0, 0x17F), (0x2000, 0x206F), (0x2100, 0x218F), (0x3000, 0x30FF),
    (0xFF00, 0xFFEF), (0x1F300, 0x1F6FF), (0x300, 0x36F), (0xFB00, 0xFB06), (0x4E00, 0x4E50),
    (0xAC00, 0xAC20), (0x1D400, 0x1D4FF), (0x2460, 0x24FF), (0xFE00, 0xFE0F), (0x600, 0x6FF),
]


def random_prompts(n, seed=7):
    rng = random.Random(seed)
    words = "a red star on the striped blue background cat dog photo of".split()
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(0, 12)):
            if rng.random() < 0.4:
                parts.append(rng.choice(words))
            else:
                lo, hi = rng.choice(RANDOM_RANGES)
                parts.append("".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 4))))
            parts.append(rng.choice([" ", "", "  ", "\t", "\n", " \u3000 "]))
        out.append("".join(c for c in "".join(parts) if not 0xD800 <= ord(c) <= 0xDFFF))
    return out
