/* SPDX-License-Identifier: MIT */
/*
 * The status server's connection slots: a fixed table of the open
 * connections with their address key and wait state, the eviction policy
 * (make_room), the request deadline (status_slots_expire) and the answer
 * class caps. See status_slots.h and docs/reliability.md.
 *
 * Threads: any; conn_lock guards the table and the counters, the class
 * caps are atomics. The pipeline never takes conn_lock.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"
#include "status_slots.h"

#define MOD "status"

/* One open connection, from libmicrohttpd's notify callback. */
struct status_conn {
	bool used;
	bool waiting; /* for a request (head and body), or idle */
	bool closing; /* shut down by us; its close is on its way */
	int fd;
	/* The client address as the limits count it: family, then the
	 * IPv4 address or the IPv6 /64 (one subscriber's usual share). */
	unsigned char key[9];
	int64_t since_mono_ns; /* start of the current wait */
};

struct status_slots {
	/* Taken by the notify callback, the request handlers and the
	 * watchdog, never by the pipeline. */
	pthread_mutex_t conn_lock;
	struct status_conn conns[STATUS_SLOTS_TRACKED];
	unsigned int n_expired; /* closed by the deadline (conn_lock) */
	unsigned int n_evicted; /* closed to make room (conn_lock) */
	uint64_t total_expired; /* since start (conn_lock) */
	uint64_t total_evicted; /* since start (conn_lock) */
	atomic_int n_events;
	atomic_int n_public;
	/* Public answers waiting for a slot (status_slots_take): put
	 * signals freed only when there are some. */
	atomic_int public_waiters;
	pthread_mutex_t wait_lock;
	pthread_cond_t freed; /* CLOCK_MONOTONIC */
	/* The log note's tallies: status_slots_expire's caller only. */
	unsigned int note_expired;
	unsigned int note_evicted;
	int64_t last_note_mono_ns;
};

struct status_slots *
status_slots_new(void)
{
	struct status_slots *sl = calloc(1, sizeof(*sl));
	pthread_condattr_t ca;

	if (sl == NULL)
		return NULL;
	pthread_mutex_init(&sl->conn_lock, NULL);
	pthread_mutex_init(&sl->wait_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sl->freed, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&sl->n_events, 0);
	atomic_init(&sl->n_public, 0);
	atomic_init(&sl->public_waiters, 0);
	return sl;
}

void
status_slots_free(struct status_slots *sl)
{
	if (sl == NULL)
		return;
	pthread_cond_destroy(&sl->freed);
	pthread_mutex_destroy(&sl->wait_lock);
	pthread_mutex_destroy(&sl->conn_lock);
	free(sl);
}

static void
conn_key(const struct sockaddr *sa, unsigned char key[9])
{
	memset(key, 0, 9);
	if (sa == NULL)
		return;
	key[0] = (unsigned char)sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(key + 1,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    4);
	else if (sa->sa_family == AF_INET6)
		memcpy(key + 1,
		    ((const struct sockaddr_in6 *)(const void *)sa)
			->sin6_addr.s6_addr,
		    8);
}

/* Shuts the socket down: the connection's thread sees the end at once
 * and libmicrohttpd closes it. The fd is still open (it is closed only
 * after the CLOSED notification, which takes conn_lock). conn_lock held. */
static void
conn_close(struct status_conn *k)
{
	shutdown(k->fd, SHUT_RDWR);
	k->closing = true;
	k->waiting = false;
}

/* Whether k is from the address key (any when NULL). */
static bool
of_key(const struct status_conn *k, const unsigned char *key)
{
	return key == NULL || memcmp(k->key, key, sizeof(k->key)) == 0;
}

/* The oldest waiting connection, of key when key is not NULL, other than
 * except. conn_lock held. */
static struct status_conn *
oldest_waiting(struct status_slots *sl, const unsigned char *key,
    const struct status_conn *except)
{
	struct status_conn *best = NULL, *k;
	size_t i;

	for (i = 0; i < RELAY_ARRAY_LEN(sl->conns); i++) {
		k = &sl->conns[i];
		if (!k->used || !k->waiting || k == except || !of_key(k, key))
			continue;
		if (best == NULL || k->since_mono_ns < best->since_mono_ns)
			best = k;
	}
	return best;
}

/* Connections of key (any when NULL) waiting since before since_ns.
 * conn_lock held. */
static int
count_slow(struct status_slots *sl, const unsigned char *key, int64_t since_ns)
{
	size_t i;
	int n = 0;

	for (i = 0; i < RELAY_ARRAY_LEN(sl->conns); i++) {
		const struct status_conn *k = &sl->conns[i];

		if (k->used && k->waiting && k->since_mono_ns <= since_ns &&
		    of_key(k, key))
			n++;
	}
	return n;
}

/* Open connections of key (any when NULL), those shut down by us but not
 * yet closed included: libmicrohttpd still counts them. conn_lock held. */
static int
count_open(struct status_slots *sl, const unsigned char *key)
{
	size_t i;
	int n = 0;

	for (i = 0; i < RELAY_ARRAY_LEN(sl->conns); i++) {
		const struct status_conn *k = &sl->conns[i];

		if (k->used && of_key(k, key))
			n++;
	}
	return n;
}

/* The oldest of the waiters since since_ns of the address with the most
 * of them, other than except. conn_lock held. */
static struct status_conn *
oldest_of_busiest(
    struct status_slots *sl, const struct status_conn *except, int64_t since_ns)
{
	struct status_conn *victim = NULL, *k;
	size_t i;
	int most = 0, n;

	for (i = 0; i < RELAY_ARRAY_LEN(sl->conns); i++) {
		k = &sl->conns[i];
		if (!k->used || !k->waiting || k == except ||
		    k->since_mono_ns > since_ns)
			continue;
		n = count_slow(sl, k->key, since_ns);
		if (n > most) {
			most = n;
			victim = oldest_waiting(sl, k->key, except);
		}
	}
	return victim;
}

/*
 * A new connection always gets in (its request may be the health check
 * an operator is waiting for). The limits count the slow waiters, those
 * waiting for STATUS_EVICT_MIN_WAIT_NS or more: a burst of new
 * connections whose requests are on their way (a page's assets, a
 * monitor's probes) never evicts one another. When the address already
 * has STATUS_MAX_WAITING_PER_ADDRESS slow waiters, or the server
 * STATUS_MAX_WAITING, the one waiting longest makes room: from the same
 * address, else from the address with the most. So a client that
 * trickles headers over many connections only ever evicts itself.
 *
 * libmicrohttpd refuses a connection beyond its own limits before it
 * tells us of it, so room is made before them: when this connection
 * leaves fewer than STATUS_SPARE_CONNECTIONS free under the server's or
 * its address's limit, the one waiting longest goes, however young.
 * Otherwise a burst of idle connections, none slow yet, fills every slot
 * and locks every client out until the request deadline, again and again
 * (tests/integration/95_status_connection_flood.sh).
 * conn_lock held.
 */
static void
make_room(struct status_slots *sl, struct status_conn *fresh)
{
	int64_t slow = fresh->since_mono_ns - STATUS_EVICT_MIN_WAIT_NS;
	struct status_conn *victim = NULL;

	if (count_slow(sl, fresh->key, slow) >= STATUS_MAX_WAITING_PER_ADDRESS)
		victim = oldest_waiting(sl, fresh->key, fresh);
	else if (count_slow(sl, NULL, slow) >= STATUS_MAX_WAITING)
		victim = oldest_of_busiest(sl, fresh, slow);
	else if (count_open(sl, fresh->key) >
		 STATUS_MAX_PER_ADDRESS - STATUS_SPARE_CONNECTIONS)
		victim = oldest_waiting(sl, fresh->key, fresh);
	else if (count_open(sl, NULL) >
		 STATUS_MAX_CONNECTIONS - STATUS_SPARE_CONNECTIONS)
		victim = oldest_of_busiest(sl, fresh, INT64_MAX);
	if (victim != NULL) {
		conn_close(victim);
		sl->n_evicted++;
		sl->total_evicted++;
	}
}

struct status_conn *
status_slots_open(struct status_slots *sl, int fd, const struct sockaddr *sa)
{
	struct status_conn *k = NULL;
	size_t i;

	if (fd < 0)
		return NULL; /* cannot be closed: not tracked */
	pthread_mutex_lock(&sl->conn_lock);
	for (i = 0; i < RELAY_ARRAY_LEN(sl->conns); i++) {
		if (!sl->conns[i].used) {
			k = &sl->conns[i];
			break;
		}
	}
	if (k != NULL) {
		memset(k, 0, sizeof(*k));
		k->used = true;
		k->waiting = true;
		k->since_mono_ns = util_now_mono_ns();
		k->fd = fd;
		conn_key(sa, k->key);
		make_room(sl, k);
	}
	pthread_mutex_unlock(&sl->conn_lock);
	return k;
}

size_t
status_slots_index(const struct status_slots *sl, const struct status_conn *k)
{
	return (size_t)(k - sl->conns);
}

void
status_slots_release(struct status_slots *sl, struct status_conn *k)
{
	if (k == NULL)
		return;
	pthread_mutex_lock(&sl->conn_lock);
	k->used = false;
	pthread_mutex_unlock(&sl->conn_lock);
}

void
status_slots_set_waiting(
    struct status_slots *sl, struct status_conn *k, bool waiting)
{
	if (k == NULL)
		return;
	pthread_mutex_lock(&sl->conn_lock);
	if (!k->closing) {
		k->waiting = waiting;
		k->since_mono_ns = util_now_mono_ns();
	}
	pthread_mutex_unlock(&sl->conn_lock);
}

int64_t
status_slots_expire(struct status_slots *sl)
{
	int64_t now = util_now_mono_ns(), next = INT64_MAX;
	size_t i;

	pthread_mutex_lock(&sl->conn_lock);
	for (i = 0; i < RELAY_ARRAY_LEN(sl->conns); i++) {
		struct status_conn *k = &sl->conns[i];
		int64_t due = k->since_mono_ns + STATUS_REQUEST_DEADLINE_NS;

		if (!k->used || !k->waiting)
			continue;
		if (now > due) {
			conn_close(k);
			sl->n_expired++;
			sl->total_expired++;
		} else if (due + 1 < next) {
			next = due + 1; /* the test above is strict */
		}
	}
	sl->note_expired += sl->n_expired;
	sl->note_evicted += sl->n_evicted;
	sl->n_expired = sl->n_evicted = 0;
	pthread_mutex_unlock(&sl->conn_lock);
	/* Idle keep-alive connections expire all day long: that is
	 * routine. Evictions mean the slots ran short. */
	if (sl->note_evicted > 0 &&
	    now - sl->last_note_mono_ns >= 60 * NS_PER_SEC) {
		log_warn(MOD,
		    "http: %u connections closed to make room and %u "
		    "past the %d s request deadline in the last "
		    "minute (clients that send their request too "
		    "slowly, or a slow-loris attack)",
		    sl->note_evicted, sl->note_expired,
		    (int)(STATUS_REQUEST_DEADLINE_NS / NS_PER_SEC));
		sl->last_note_mono_ns = now;
		sl->note_expired = sl->note_evicted = 0;
	} else if (sl->note_evicted == 0 && sl->note_expired > 0) {
		log_debug(MOD,
		    "http: %u connections closed: no complete request "
		    "within %d s",
		    sl->note_expired,
		    (int)(STATUS_REQUEST_DEADLINE_NS / NS_PER_SEC));
		sl->note_expired = 0;
	}
	return next;
}

static bool
try_take(atomic_int *n, int cap)
{
	if (atomic_fetch_add(n, 1) >= cap) {
		atomic_fetch_sub(n, 1);
		return false;
	}
	return true;
}

bool
status_slots_take(struct status_slots *sl, enum status_slot_class cls)
{
	struct timespec until;
	int64_t deadline;
	bool ok;

	if (cls == STATUS_SLOT_EVENTS)
		return try_take(&sl->n_events, STATUS_MAX_EVENT_STREAMS);
	if (try_take(&sl->n_public, STATUS_MAX_PUBLIC))
		return true;
	deadline = util_now_mono_ns() + STATUS_PUBLIC_WAIT_NS;
	until.tv_sec = (time_t)(deadline / NS_PER_SEC);
	until.tv_nsec = (long)(deadline % NS_PER_SEC);
	pthread_mutex_lock(&sl->wait_lock);
	/* Counted before the retry: a put that lands after the retry
	 * failed sees the waiter and signals (it takes wait_lock, which
	 * the wait below releases). */
	atomic_fetch_add(&sl->public_waiters, 1);
	while (!(ok = try_take(&sl->n_public, STATUS_MAX_PUBLIC)))
		if (pthread_cond_timedwait(
			&sl->freed, &sl->wait_lock, &until) != 0) {
			ok = try_take(&sl->n_public, STATUS_MAX_PUBLIC);
			break;
		}
	atomic_fetch_sub(&sl->public_waiters, 1);
	pthread_mutex_unlock(&sl->wait_lock);
	return ok;
}

void
status_slots_put(struct status_slots *sl, enum status_slot_class cls)
{
	if (cls == STATUS_SLOT_EVENTS) {
		atomic_fetch_sub(&sl->n_events, 1);
		return;
	}
	atomic_fetch_sub(&sl->n_public, 1);
	if (atomic_load(&sl->public_waiters) > 0) {
		pthread_mutex_lock(&sl->wait_lock);
		pthread_cond_broadcast(&sl->freed);
		pthread_mutex_unlock(&sl->wait_lock);
	}
}

void
status_slots_load(struct status_slots *sl, struct stats_http *h)
{
	size_t i;

	pthread_mutex_lock(&sl->conn_lock);
	h->connections = 0;
	for (i = 0; i < RELAY_ARRAY_LEN(sl->conns); i++)
		h->connections += sl->conns[i].used ? 1 : 0;
	h->evicted = sl->total_evicted;
	h->expired = sl->total_expired;
	pthread_mutex_unlock(&sl->conn_lock);
	h->event_streams = atomic_load(&sl->n_events);
}
