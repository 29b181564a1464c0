/* Unit tests: bounded queues, blocking and dropping, across threads. */
#include "test_util.h"

#include <pthread.h>

#include "runtime/queue.h"

static void test_basic_and_drop(void **state)
{
    cs_queue *q = NULL;
    cs_queue_stats st;
    void *item;
    int a = 1, b = 2, c = 3;
    (void)state;
    assert_int_equal(cs_queue_new(0, &q), CS_ERR_INVAL);
    assert_int_equal(cs_queue_new(2, &q), CS_OK);
    assert_int_equal(cs_queue_try_push(q, &a), CS_OK);
    assert_int_equal(cs_queue_try_push(q, &b), CS_OK);
    assert_int_equal(cs_queue_try_push(q, &c), CS_ERR_FULL);
    assert_int_equal(cs_queue_pop(q, &item), CS_OK);
    assert_ptr_equal(item, &a);   /* FIFO */
    assert_int_equal(cs_queue_pop_timed(q, &item, 10), CS_OK);
    assert_ptr_equal(item, &b);
    assert_int_equal(cs_queue_pop_timed(q, &item, 10), CS_ERR_NOTFOUND);
    cs_queue_get_stats(q, &st);
    assert_int_equal(st.pushed, 2);
    assert_int_equal(st.popped, 2);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.high_water, 2);
    assert_int_equal(st.depth, 0);
    cs_queue_close(q);
    assert_int_equal(cs_queue_pop(q, &item), CS_ERR_CLOSED);
    assert_int_equal(cs_queue_push(q, &a), CS_ERR_CLOSED);
    cs_queue_free(q);
}

#define PRODUCERS 4
#define PER_PRODUCER 20000

typedef struct prod {
    cs_queue *q;
    int id;
} prod;

static void *producer(void *arg)
{
    prod *p = arg;
    for (intptr_t i = 0; i < PER_PRODUCER; i++) {
        intptr_t v = (intptr_t)p->id * PER_PRODUCER + i + 1;
        if (cs_queue_push(p->q, (void *)v) != CS_OK) {
            return (void *)1;
        }
    }
    return NULL;
}

static void test_blocking_no_loss(void **state)
{
    cs_queue *q = NULL;
    pthread_t t[PRODUCERS];
    prod ps[PRODUCERS];
    static unsigned char seen[PRODUCERS * PER_PRODUCER + 1];
    intptr_t last[PRODUCERS];
    size_t got = 0;
    cs_queue_stats st;
    (void)state;
    assert_int_equal(cs_queue_new(16, &q), CS_OK);   /* tiny: producers must block */
    for (int i = 0; i < PRODUCERS; i++) {
        ps[i].q = q;
        ps[i].id = i;
        last[i] = 0;
        assert_int_equal(pthread_create(&t[i], NULL, producer, &ps[i]), 0);
    }
    while (got < PRODUCERS * PER_PRODUCER) {
        void *items[64];
        cs_rc rc;
        size_t n = cs_queue_pop_batch(q, items, 64, 1000, &rc);
        assert_true(n > 0);
        for (size_t k = 0; k < n; k++) {
            intptr_t v = (intptr_t)items[k];
            int who = (int)((v - 1) / PER_PRODUCER);
            assert_false(seen[v]);
            seen[v] = 1;
            assert_true(v > last[who]);   /* per-producer order kept */
            last[who] = v;
        }
        got += n;
    }
    for (int i = 0; i < PRODUCERS; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    cs_queue_get_stats(q, &st);
    assert_int_equal(st.pushed, PRODUCERS * PER_PRODUCER);
    assert_int_equal(st.dropped, 0);
    assert_true(st.waits > 0);
    assert_true(st.high_water <= 16);
    cs_queue_free(q);
}

static void *closer(void *arg)
{
    cs_queue_close(arg);
    return NULL;
}

static void test_close_wakes_waiters(void **state)
{
    cs_queue *q = NULL;
    pthread_t t;
    void *item;
    int a = 1;
    (void)state;
    assert_int_equal(cs_queue_new(1, &q), CS_OK);
    assert_int_equal(cs_queue_push(q, &a), CS_OK);
    pthread_create(&t, NULL, closer, q);
    pthread_join(t, NULL);
    /* what was accepted before the close is still delivered */
    assert_int_equal(cs_queue_pop(q, &item), CS_OK);
    assert_ptr_equal(item, &a);
    assert_int_equal(cs_queue_pop(q, &item), CS_ERR_CLOSED);
    cs_queue_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_and_drop),
        cmocka_unit_test(test_blocking_no_loss),
        cmocka_unit_test(test_close_wakes_waiters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
