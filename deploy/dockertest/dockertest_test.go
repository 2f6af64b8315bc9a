package dockertest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheckNoPull(t *testing.T) {
	for _, tc := range []struct {
		name, dockerfile string
		ok               bool
	}{
		{"scratch", "FROM scratch\nCOPY hookshot /hookshot\n", true},
		{"scratch stages", "FROM --platform=linux/amd64 scratch AS a\nCOPY x /x\nFROM a\nCOPY --from=a /x /y\nCOPY --from=0 /x /z\n", true},
		{"comment mentions FROM", "# FROM alpine\nFROM scratch\n", true},
		{"base image", "FROM alpine:3\n", false},
		{"base image after stage", "FROM scratch AS a\nFROM golang:1.26\n", false},
		{"syntax directive", "# syntax=docker/dockerfile:1\nFROM scratch\n", false},
		{"copy from image", "FROM scratch\nCOPY --from=busybox /bin/sh /sh\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckNoPull([]byte(tc.dockerfile))
			if (err == nil) != tc.ok {
				t.Errorf("CheckNoPull = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestRepositoryDockerfile keeps deploy/Dockerfile buildable without a registry.
func TestRepositoryDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckNoPull(b); err != nil {
		t.Fatalf("deploy/Dockerfile: %v", err)
	}
}
