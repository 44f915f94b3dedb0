/* The words the built-in dataset is made of. */
#ifndef EMBCL_SRC_IO_DATASET_WORDS_H
#define EMBCL_SRC_IO_DATASET_WORDS_H

#define DS_MAX_TOPICS 8
#define DS_TOPIC_SEEDS 10
#define DS_N_ROLES 20

typedef struct ds_topic {
    const char *name;                   /* also the stem of its made-up words */
    const char *seeds[DS_TOPIC_SEEDS];  /* its most frequent words */
} ds_topic;

typedef struct ds_role {
    const char *male, *female;
    const char *context[2];  /* words both forms are used with */
} ds_role;

typedef struct ds_list {
    const char *const *words;
    int n;
} ds_list;

extern const ds_topic ds_topics[DS_MAX_TOPICS];
extern const ds_role ds_roles[DS_N_ROLES];
extern const ds_list ds_determiners, ds_links, ds_copulas, ds_intensifiers, ds_role_verbs, ds_positive,
    ds_negative, ds_male, ds_female;

#endif
