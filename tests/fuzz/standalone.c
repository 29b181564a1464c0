/* standalone.c - runs a libFuzzer target without libFuzzer (gcc builds, CI):
 * every seed file given on the command line, then a fixed number of
 * deterministic mutations of them (byte flips, insertions, truncations,
 * splices, repeats). It finds crashes only as well as the sanitizers it is
 * built with; the real coverage-guided run is the clang build (CS_LIBFUZZER).
 *
 * usage: fuzz_x [-runs=N] FILE_OR_DIR...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEEDS 256
#define FUZZ_MAX_INPUT (1u << 20)

static uint8_t *seeds[MAX_SEEDS];
static size_t seed_len[MAX_SEEDS];
static size_t nseeds;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void add_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    size_t n;
    if (f == NULL || nseeds >= MAX_SEEDS) {
        if (f != NULL) {
            fclose(f);
        }
        return;
    }
    buf = malloc(FUZZ_MAX_INPUT);
    n = buf ? fread(buf, 1, FUZZ_MAX_INPUT, f) : 0;
    fclose(f);
    if (buf == NULL) {
        return;
    }
    seeds[nseeds] = buf;
    seed_len[nseeds] = n;
    nseeds++;
    LLVMFuzzerTestOneInput(buf, n);
}

static void add_path(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "fuzz: %s: not found\n", path);
        exit(2);
    }
    if (S_ISDIR(sb.st_mode)) {
        struct dirent **names;
        int n = scandir(path, &names, NULL, alphasort);
        for (int i = 0; i < n; i++) {
            if (names[i]->d_name[0] != '.') {
                char p[4096];
                snprintf(p, sizeof p, "%s/%s", path, names[i]->d_name);
                add_file(p);
            }
            free(names[i]);
        }
        free(names);
    } else {
        add_file(path);
    }
}

static size_t mutate(uint8_t *out, size_t cap)
{
    size_t k = next() % nseeds;
    size_t n = seed_len[k] < cap ? seed_len[k] : cap;
    int rounds = 1 + (int)(next() % 8);
    memcpy(out, seeds[k], n);
    for (int r = 0; r < rounds; r++) {
        size_t at = n ? next() % n : 0;
        switch (next() % 6) {
        case 0: /* flip a byte */
            if (n) {
                out[at] ^= (uint8_t)(1u << (next() % 8));
            }
            break;
        case 1: /* interesting byte */
            if (n) {
                static const uint8_t interesting[] = {0, 0xff, '"', '\\', '=', ' ', '[', ']', '{', '}', ':',
                                                     '|', '<', '>', '\n', 0x80, 0xc3, '%'};
                out[at] = interesting[next() % sizeof interesting];
            }
            break;
        case 2: /* truncate */
            n = at;
            break;
        case 3: /* insert random bytes */
            if (n + 16 < cap) {
                size_t len = 1 + next() % 16;
                memmove(out + at + len, out + at, n - at);
                for (size_t i = 0; i < len; i++) {
                    out[at + i] = (uint8_t)next();
                }
                n += len;
            }
            break;
        case 4: /* splice with another seed */
        {
            size_t o = next() % nseeds;
            size_t from = seed_len[o] ? next() % seed_len[o] : 0;
            size_t len = seed_len[o] - from;
            if (at + len > cap) {
                len = cap - at;
            }
            memcpy(out + at, seeds[o] + from, len);
            n = at + len;
            break;
        }
        default: /* repeat a chunk, to grow long inputs */
            if (n && n * 2 < cap) {
                memcpy(out + n, out, n);
                n *= 2;
            }
            break;
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    long runs = 20000;
    uint8_t *buf = malloc(FUZZ_MAX_INPUT);
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "-runs=", 6) == 0) {
            runs = strtol(argv[i] + 6, NULL, 10);
        } else if (argv[i][0] != '-') {
            add_path(argv[i]);
        }
    }
    if (buf == NULL || nseeds == 0) {
        fprintf(stderr, "fuzz: no seeds\n");
        return 2;
    }
    for (long r = 0; r < runs; r++) {
        size_t n = mutate(buf, FUZZ_MAX_INPUT);
        /* give the target its own exact-size copy so overreads are caught */
        uint8_t *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    printf("fuzz: %zu seeds, %ld mutated inputs, no crash\n", nseeds, runs);
    for (size_t i = 0; i < nseeds; i++) {
        free(seeds[i]);
    }
    free(buf);
    return 0;
}
