/* Word lists of the built-in dataset. Real words where a reader will look
 * (nearest neighbours, analogies), so the demo's output reads naturally. */
#include "io/dataset_words.h"

#define LIST(name, ...)                                  \
    static const char *const name##_w[] = {__VA_ARGS__}; \
    const ds_list name = {name##_w, (int)(sizeof name##_w / sizeof name##_w[0])}

const ds_topic ds_topics[DS_MAX_TOPICS] = {
    {"sport", {"game", "team", "ball", "coach", "match", "goal", "player", "season", "score", "league"}},
    {"food", {"bread", "soup", "cheese", "pasta", "salad", "sauce", "spice", "kitchen", "recipe", "dessert"}},
    {"music", {"song", "guitar", "piano", "melody", "band", "concert", "rhythm", "drum", "album", "chorus"}},
    {"weather", {"rain", "storm", "cloud", "wind", "snow", "thunder", "sunshine", "fog", "forecast", "frost"}},
    {"computer", {"software", "keyboard", "screen", "program", "network", "server", "code", "memory", "laptop", "data"}},
    {"finance", {"bank", "money", "loan", "market", "stock", "price", "budget", "profit", "tax", "invoice"}},
    {"medicine", {"doctor", "nurse", "hospital", "patient", "fever", "pill", "surgery", "clinic", "vaccine", "therapy"}},
    {"travel", {"train", "airport", "ticket", "hotel", "luggage", "passport", "journey", "map", "beach", "tourist"}},
};

const ds_role ds_roles[DS_N_ROLES] = {
    {"man", "woman", {"street", "crowd"}},        {"king", "queen", {"throne", "crown"}},
    {"prince", "princess", {"palace", "castle"}}, {"actor", "actress", {"stage", "film"}},
    {"father", "mother", {"family", "home"}},     {"son", "daughter", {"school", "child"}},
    {"brother", "sister", {"sibling", "twin"}},   {"uncle", "aunt", {"visit", "holiday"}},
    {"husband", "wife", {"marriage", "wedding"}}, {"boy", "girl", {"playground", "toy"}},
    {"waiter", "waitress", {"restaurant", "tray"}}, {"emperor", "empress", {"empire", "army"}},
    {"duke", "duchess", {"estate", "manor"}},     {"monk", "nun", {"monastery", "prayer"}},
    {"groom", "bride", {"ceremony", "veil"}},     {"hero", "heroine", {"quest", "sword"}},
    {"host", "hostess", {"party", "guests"}},     {"god", "goddess", {"temple", "heaven"}},
    {"steward", "stewardess", {"flight", "cabin"}}, {"nephew", "niece", {"cousin", "birthday"}},
};

LIST(ds_determiners, "the", "a", "this", "that", "every", "one");
LIST(ds_links, "of", "with", "near", "and", "for", "about", "from");
LIST(ds_copulas, "was", "is", "seemed", "felt", "looked");
LIST(ds_intensifiers, "very", "really", "quite", "so", "truly");
LIST(ds_role_verbs, "visited", "saw", "left", "found", "liked", "watched");
LIST(ds_positive, "good", "great", "excellent", "wonderful", "happy", "lovely", "brilliant", "pleasant", "superb",
     "delightful", "perfect", "amazing", "fantastic", "nice", "joyful", "charming", "splendid", "fine", "glad",
     "cheerful", "terrific", "marvelous", "enjoyable", "beautiful");
LIST(ds_negative, "bad", "terrible", "awful", "horrible", "sad", "poor", "dreadful", "unpleasant", "nasty",
     "miserable", "disappointing", "boring", "ugly", "painful", "annoying", "gloomy", "dull", "weak", "bitter",
     "grim", "lousy", "tragic", "rotten", "broken");
/* pronoun-like gender markers, paired by position */
LIST(ds_male, "he", "his", "him", "himself", "sir", "mr");
LIST(ds_female, "she", "her", "hers", "herself", "madam", "mrs");
