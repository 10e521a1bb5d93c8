package main

import (
	"fmt"
	"os"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/adapters/redis"
)

// testCluster is the Redis Cluster at PARCELBOT_TEST_REDIS (started by
// .ci/with-redis-cluster, as CI does), a client of it, and a key prefix of
// the test's own; the test is skipped without one.
func testCluster(t *testing.T, what string) (url string, rdb goredis.UniversalClient, prefix string) {
	t.Helper()
	url = os.Getenv("PARCELBOT_TEST_REDIS")
	if url == "" {
		t.Skip("PARCELBOT_TEST_REDIS not set: run under .ci/with-redis-cluster (CI does)")
	}
	rdb, closeFn, err := redis.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	return url, rdb, fmt.Sprintf("pb%s:%d:%d:", what, os.Getpid(), time.Now().UnixNano())
}
