/* test_rulegen.c - rule-set transactions (netrules_txn_*, src/kernel/netrules.c) against the real
 * connect hooks.
 *
 * A private cgroup under the cgroup2 mount and a private pin directory: the programs are
 * loaded and attached there only (never the root cgroup). This process moves itself into
 * the cgroup, connects to 127.0.0.x port 9 where nothing listens (ECONNREFUSED: allowed;
 * EPERM: refused by moat), and moves back before cleaning up. No traffic leaves loopback.
 * Run as root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cgroup.h"
#include "loader.h"
#include "log.h"
#include "moat/maps.h"
#include "netrules.h"
#include "rulesfile.h"
#include "test.h"

static char pin[256], cg[4400], home[8400];

/* Connect to 127.0.0.<last>:9 from this thread. Returns 0 (reached the stack: refused by
 * the closed port), or the errno (EPERM when moat refused). */
static int try_connect(int last)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	a.sin_addr.s_addr = htonl(0x7f000000u | (unsigned)last);
	if (fd < 0)
		return errno;
	err = connect(fd, (struct sockaddr *)&a, sizeof(a)) ? errno : 0;
	close(fd);
	return err == ECONNREFUSED ? 0 : err ? err : -1;
}

/* Entries of the v4 trie stored under cgroup id `id`. */
static int trie_count(uint64_t id)
{
	char path[300];
	struct moat_lpm_v4 k, next;
	void *prev = NULL;
	int fd, n = 0;

	snprintf(path, sizeof(path), "%s/net_rules_v4", pin);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		uint64_t c;

		memcpy(&c, next.cgroup_id, 8);
		n += c == id;
		k = next;
		prev = &k;
	}
	close(fd);
	return n;
}

static struct cidr host(int last)
{
	struct cidr c;
	char s[32];

	snprintf(s, sizeof(s), "127.0.0.%d", last);
	cidr_parse(s, &c);
	return c;
}

/* The storm: connect to 127.0.0.5 (denied by a rules-file rule that every commit rewrites)
 * and 127.0.0.3 (denied by a carried-over CLI rule) until told to stop. */
static atomic_int stop, n_through, n_refused;

static void *storm(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		for (int last = 3; last <= 5; last += 2) {
			int r = try_connect(last);

			if (r == EPERM)
				atomic_fetch_add(&n_refused, 1);
			else
				atomic_fetch_add(&n_through, 1);
		}
	}
	return NULL;
}

/* Pretend a DNS answer opened 127.0.0.<last> for the test cgroup under rule_id. */
static void learn(uint64_t cgid, int last, uint32_t rule_id)
{
	struct moat_learn_key_v4 k = {.cgroup_id = cgid, .addr = {127, 0, 0, (uint8_t)last}};
	struct moat_learned v = {.rule_id = rule_id};
	struct timespec ts;
	char path[300];
	int fd;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	v.allow_until_ns = (uint64_t)ts.tv_sec * 1000000000ull + 60000000000ull;
	snprintf(path, sizeof(path), "%s/learned_v4", pin);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		bpf_map_update_elem(fd, &k, &v, BPF_ANY);
		close(fd);
	}
}

/* Domain mode: an address stays open only while a rule still allows it. */
static void test_revoke(uint64_t cgid)
{
	static const struct netrules_range file_ids = {RULES_ID_BASE, RULES_ID_END};
	struct moat_cgroup_cfg cfg = {
	    .mode = MOAT_MODE_ENFORCE, .default_action = MOAT_ACT_DENY, .domains = 1};
	struct netrules_txn t;
	int err = netrules_txn_begin(&t, pin, &file_ids, 1);

	if (!err &&
	    !(err = netrules_txn_domain_put(&t, 0, "kept.test", MOAT_ACT_ALLOW,
					    RULES_ID_BASE + 50)) &&
	    !(err =
		  netrules_txn_domain_put(&t, 0, "gone.test", MOAT_ACT_ALLOW, RULES_ID_BASE + 51)))
		err = netrules_txn_commit(&t);
	CHECK_EQ_INT(err, 0, "two allow-domain rules committed");
	CHECK_EQ_INT(netrules_set_cfg(pin, cgid, &cfg), 0, "the test cgroup is in domain mode");
	learn(cgid, 20, RULES_ID_BASE + 50);
	learn(cgid, 21, RULES_ID_BASE + 51);
	CHECK(try_connect(20) == 0 && try_connect(21) == 0 && try_connect(22) == EPERM,
	      "addresses the allowed names answered with are open, others refused",
	      "20: %d 21: %d 22: %d", try_connect(20), try_connect(21), try_connect(22));
	err = netrules_txn_begin(&t, pin, &file_ids, 1);
	if (!err &&
	    !(err = netrules_txn_domain_put(&t, 0, "kept.test", MOAT_ACT_ALLOW,
					    RULES_ID_BASE + 50)) &&
	    !(err = netrules_txn_domain_put(&t, 0, "gone.test", MOAT_ACT_DENY, RULES_ID_BASE + 51)))
		err = netrules_txn_commit(&t);
	CHECK_EQ_INT(err, 0, "gone.test turned to deny");
	CHECK_EQ_INT(t.revoked, 1, "one learned address was shut");
	CHECK_EQ_INT(try_connect(21), EPERM,
		     "the address gone.test opened is refused at once, not at its TTL");
	CHECK_EQ_INT(try_connect(20), 0, "the address kept.test opened stays open");
}

static void run(uint64_t cgid)
{
	static const struct netrules_range file_ids = {RULES_ID_BASE, RULES_ID_END};
	static const struct netrules_range cli_ids = {0, 1000};
	struct netrules_txn t;
	struct cidr c3 = host(3), c4 = host(4), c5 = host(5);
	pthread_t th;
	int err;

	CHECK_EQ_INT(netrules_set_mode(pin, cgid, MOAT_MODE_ENFORCE, MOAT_ACT_ALLOW, 0), 0,
		     "the test cgroup is in enforce mode");
	CHECK_EQ_INT(try_connect(4), 0, "with no rule, 127.0.0.4 is reached");
	CHECK_EQ_INT(netrules_put(pin, 0, &c3, MOAT_ACT_DENY, 7), 0,
		     "a global CLI rule is written");
	CHECK_EQ_INT(try_connect(3), EPERM, "the CLI rule refuses 127.0.0.3");

	err = netrules_txn_begin(&t, pin, &file_ids, 1);
	CHECK_EQ_INT(err, 0, "a transaction begins");
	if (err)
		return;
	CHECK_EQ_INT(netrules_txn_put(&t, &c4, MOAT_ACT_DENY, RULES_ID_BASE + 1), 0,
		     "a deny is written into the next generation");
	CHECK_EQ_INT(try_connect(4), 0, "before the commit the new deny is not in force");
	CHECK_EQ_INT(try_connect(3), EPERM, "before the commit the live rules still are");
	CHECK_EQ_INT(netrules_txn_commit(&t), 0, "the transaction commits");
	CHECK_EQ_INT(netrules_live_gen(pin), 1, "the live generation flipped to 1");
	CHECK_EQ_INT(try_connect(4), EPERM, "after the commit the new deny refuses 127.0.0.4");
	CHECK_EQ_INT(try_connect(3), EPERM, "the CLI rule was carried over");
	CHECK_EQ_INT(trie_count(netrules_global_id(0)), 0, "the old generation is gone");
	CHECK_EQ_INT(trie_count(netrules_global_id(1)), 2, "the new one holds both rules");

	/* Abort: nothing changes, nothing is left behind. */
	err = netrules_txn_begin(&t, pin, &cli_ids, 1);
	CHECK_EQ_INT(err, 0, "a second transaction begins");
	if (!err) {
		netrules_txn_abort(&t);
		CHECK(try_connect(3) == EPERM && try_connect(4) == EPERM &&
			  netrules_live_gen(pin) == 1,
		      "an aborted transaction changes nothing", "gen %u", netrules_live_gen(pin));
		CHECK_EQ_INT(trie_count(netrules_global_id(0)), 0,
			     "an aborted transaction leaves nothing in the next generation");
	}

	/* Dropping the file's ids and writing nothing removes its rules, keeps the CLI's. */
	err = netrules_txn_begin(&t, pin, &file_ids, 1);
	if (!err)
		err = netrules_txn_commit(&t);
	CHECK_EQ_INT(err, 0, "an empty rules file commits");
	CHECK(try_connect(4) == 0 && try_connect(3) == EPERM,
	      "the file's deny went with it, the CLI rule stayed", "4: %d 3: %d", try_connect(4),
	      try_connect(3));

	/* Reload under load: 100 commits, each rewriting the file's deny of 127.0.0.5, while a
	 * thread connects to it and to 127.0.0.3 as fast as it can. Nothing may get through. */
	err = netrules_txn_begin(&t, pin, &file_ids, 1);
	if (!err && !(err = netrules_txn_put(&t, &c5, MOAT_ACT_DENY, RULES_ID_BASE + 2)))
		err = netrules_txn_commit(&t);
	CHECK_EQ_INT(err, 0, "the storm target is denied");
	if (pthread_create(&th, NULL, storm, NULL)) {
		CHECK(0, "storm thread", "pthread_create failed");
		return;
	}
	for (int i = 0; i < 100; i++) {
		struct cidr extra = host(100 + i % 50);

		err = netrules_txn_begin(&t, pin, &file_ids, 1);
		if (err)
			break;
		/* A different file each time: the deny stays, other rules come and go. */
		if ((err = netrules_txn_put(&t, &extra, MOAT_ACT_ALLOW, RULES_ID_BASE + 10 + i)) ||
		    (err = netrules_txn_put(&t, &c5, MOAT_ACT_DENY, RULES_ID_BASE + 2 + i % 2))) {
			netrules_txn_abort(&t);
			break;
		}
		if ((err = netrules_txn_commit(&t)))
			break;
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	CHECK_EQ_INT(err, 0, "100 reloads committed");
	CHECK(atomic_load(&n_through) == 0 && atomic_load(&n_refused) > 100,
	      "100 reloads during a connect storm: no connect to a denied address got through",
	      "%d through, %d refused", atomic_load(&n_through), atomic_load(&n_refused));
	printf("# storm: %d connects refused, %d through\n", atomic_load(&n_refused),
	       atomic_load(&n_through));
	test_revoke(cgid);
}

int main(void)
{
	char mnt[4096], cgs[1][4096], line[4200];
	struct loader l;
	uint64_t cgid;

	if (geteuid() != 0) {
		CHECK(0, "rule generations", "run as root");
		return TEST_EXIT();
	}
	if (cgroup_find_v2_mount(mnt, sizeof(mnt))) {
		CHECK(0, "rule generations: cgroup2 mount", "none found");
		return TEST_EXIT();
	}
	/* Where this process lives now, to come back to. */
	if (cgroup_of_pid(getpid(), line, sizeof(line)) == 0)
		snprintf(home, sizeof(home), "%s%s", mnt, line);
	snprintf(cg, sizeof(cg), "%s/moat-test-rulegen-%d", mnt, (int)getpid());
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/moat-test-rulegen-%d", (int)getpid());
	if (snprintf(cgs[0], sizeof(cgs[0]), "%s", cg) >= (int)sizeof(cgs[0])) {
		CHECK(0, "rule generations: test cgroup path", "too long");
		return TEST_EXIT();
	}
	if (mkdir(cg, 0755) && errno != EEXIST) {
		CHECK(0, "rule generations: test cgroup", "mkdir %s: %s", cg, strerror(errno));
		return TEST_EXIT();
	}
	log_level = LOG_WARN;
	if (loader_load(&l, pin, 256 << 10) || loader_attach(&l, cgs, 1)) {
		CHECK(0, "rule generations: programs attached to the test cgroup", "see above");
		goto out;
	}
	loader_close(&l);
	cgid = cgroup_id_of(cg);
	CHECK(home[0] && cgroup_enter(cg) == 0, "this process joined the test cgroup", "home %s",
	      home);
	run(cgid);
	CHECK_EQ_INT(cgroup_enter(home), 0, "this process went back to its cgroup");
out:
	loader_clear(pin);
	rmdir(cg);
	return TEST_EXIT();
}
