"""Which parsing classes an edit may change.

A ground-truth edit (``with_attribute`` / ``with_expression``) changes only pixels whose class, in the
mask before OR after the edit, is one of the listed classes (judged after dilating that union by a few
pixels, for anti-aliased fringes). Occlusion is handled by the union: removing hair reveals forehead,
but those pixels were ``hair`` before the edit.
"""
from __future__ import annotations

ATTRIBUTE_REGIONS: dict[str, tuple[str, ...]] = {
    "Bald": ("hair",),
    "Bangs": ("hair",),
    "Black_Hair": ("hair",),
    "Blond_Hair": ("hair",),
    "Brown_Hair": ("hair",),
    "Bushy_Eyebrows": ("l_brow", "r_brow", "eye_g"),
    "Eyeglasses": ("eye_g", "l_eye", "r_eye", "l_brow", "r_brow"),
    # Male moves the jaw line, lowers and thickens the brows, shortens the hair and widens the neck and
    # shoulders; the eyes, nose and mouth keep their places.
    "Male": ("background", "skin", "l_brow", "r_brow", "hair", "neck", "neck_l", "cloth", "nose", "l_ear",
             "r_ear", "ear_r", "eye_g", "hat"),
    "Mouth_Slightly_Open": ("mouth", "u_lip", "l_lip", "skin"),
    "Mustache": ("skin", "eye_g"),
    "No_Beard": ("skin", "eye_g"),
    "Pale_Skin": ("skin", "nose", "neck", "l_ear", "r_ear", "u_lip", "l_lip", "eye_g"),
    "Young": ("skin", "hair", "eye_g"),
    "Smiling": ("skin", "mouth", "u_lip", "l_lip", "l_eye", "r_eye", "eye_g"),
    "Wearing_Lipstick": ("u_lip", "l_lip"),
    "Wearing_Hat": ("hat",),
    "Wearing_Earrings": ("ear_r",),
    "Wearing_Necklace": ("neck_l",),
}

# Expressions move brows, eyelids, nose wrinkles, cheeks and the mouth; the jaw line stays put.
EXPRESSION_REGIONS: tuple[str, ...] = (
    "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "nose", "mouth", "u_lip", "l_lip",
)
