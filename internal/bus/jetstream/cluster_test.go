package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/bus/jetstream"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestReplicatedQueueSurvivesNodeLoss creates a queue with three replicas
// on a private three-node NATS cluster, checks the stream really has three
// copies, kills (SIGKILL) the node that leads it, and checks that every
// message enqueued before and after the kill is delivered.
func TestReplicatedQueueSurvivesNodeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS cluster")
	}
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	b, err := jetstream.New(ctx, c.urls(), jetstream.Options{StreamPrefix: "rep_"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close() }()

	// First one copy, as an old node would have created it; then the
	// settings of this version: EnsureQueue scales the stream up.
	cfg := bus.QueueConfig{Name: "events", Subjects: []string{"events.>"}, AckWait: 5 * time.Second}
	if err := b.EnsureQueue(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Replicas, cfg.MaxBytes, cfg.MaxAge = 3, 64<<20, time.Hour
	if err := b.EnsureQueue(ctx, cfg); err != nil {
		t.Fatalf("EnsureQueue with 3 replicas: %v", err)
	}
	js := c.js(t)
	info := waitReplicas(t, ctx, js, "rep_events", 3)
	if info.Config.MaxBytes != 64<<20 || info.Config.MaxAge != time.Hour {
		t.Fatalf("stream MaxBytes %d MaxAge %s, want %d and 1h", info.Config.MaxBytes, info.Config.MaxAge, 64<<20)
	}

	const before, after = 50, 50
	for i := range before {
		if err := b.Enqueue(ctx, "events", bus.Message{Subject: "events.t1", Data: []byte(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	leader := info.Cluster.Leader
	c.kill(t, leader)
	t.Logf("killed stream leader %s", leader)

	// The other two elect a new leader; enqueue until it accepts.
	for i := before; i < before+after; {
		ectx, ecancel := context.WithTimeout(ctx, 2*time.Second)
		err := b.Enqueue(ectx, "events", bus.Message{Subject: "events.t1", Data: []byte(strconv.Itoa(i)), ID: "m" + strconv.Itoa(i)})
		ecancel()
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("enqueue after losing a node: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
			continue
		}
		i++
	}
	var mu sync.Mutex
	got := map[string]int{}
	sub, err := b.Consume(ctx, "events", bus.ConsumeOptions{Group: "w", Concurrency: 4}, func(_ context.Context, d bus.Delivery) error {
		mu.Lock()
		got[string(d.Message().Data)]++
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Stop() }()
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == before+after {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d of %d messages delivered after losing the leader", n, before+after)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := range before + after {
		if got[strconv.Itoa(i)] == 0 {
			t.Errorf("message %d lost", i)
		}
	}
	// The survivors hold the stream; its leader is another node.
	st, err := js.Stream(ctx, "rep_events")
	if err != nil {
		t.Fatal(err)
	}
	if cl := st.CachedInfo().Cluster; cl == nil || cl.Leader == leader || cl.Leader == "" {
		t.Fatalf("stream cluster after the kill: %+v", cl)
	}
}

// waitReplicas waits until the stream reports n copies, all current.
func waitReplicas(t *testing.T, ctx context.Context, js natsjs.JetStream, stream string, n int) *natsjs.StreamInfo {
	t.Helper()
	for {
		st, err := js.Stream(ctx, stream)
		if err == nil {
			info := st.CachedInfo()
			cl := info.Cluster
			current := 0
			if cl != nil && cl.Leader != "" {
				current = 1
				for _, p := range cl.Replicas {
					if p.Current {
						current++
					}
				}
			}
			if info.Config.Replicas == n && current == n {
				return info
			}
			if ctx.Err() != nil {
				t.Fatalf("stream %s: replicas %d, %d current; want %d (%+v)", stream, info.Config.Replicas, current, n, cl)
			}
		} else if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// natsCluster is a private three-node NATS cluster with JetStream on
// loopback ports.
type natsCluster struct {
	nodes []*natsNode
}

type natsNode struct {
	name string
	port int
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func startCluster(t *testing.T) *natsCluster {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		testenv.Missing(t, "nats-server")
	}
	dir := t.TempDir()
	c := &natsCluster{}
	var routes []string
	clusterPorts := make([]int, 3)
	for i := range 3 {
		c.nodes = append(c.nodes, &natsNode{name: fmt.Sprintf("n%d", i), port: freePort(t), log: filepath.Join(dir, fmt.Sprintf("n%d.log", i))})
		clusterPorts[i] = freePort(t)
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", clusterPorts[i]))
	}
	for i, n := range c.nodes {
		cmd := exec.Command(bin, "-n", n.name, "-a", "127.0.0.1", "-p", strconv.Itoa(n.port), "-js", // #nosec G204 -- nats-server with the test's arguments
			"-sd", filepath.Join(dir, n.name), "--cluster_name", "vigil-rep", "--cluster", routes[i],
			"--routes", strings.Join(routes, ","), "-l", n.log)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		n.cmd, n.done = cmd, make(chan struct{})
		go func(n *natsNode) { _ = n.cmd.Wait(); close(n.done) }(n)
	}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			_ = n.cmd.Process.Kill()
			<-n.done
		}
		if t.Failed() {
			for _, n := range c.nodes {
				b, _ := os.ReadFile(n.log)
				t.Logf("--- NATS %s\n%s", n.name, b[max(0, len(b)-3000):])
			}
		}
	})
	// Wait for the JetStream meta leader.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		if err := c.ready(ctx); err == nil {
			return c
		} else if ctx.Err() != nil {
			t.Fatalf("NATS cluster without JetStream: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *natsCluster) ready(ctx context.Context) error {
	nc, err := nats.Connect(c.urls())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := natsjs.New(nc)
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = js.AccountInfo(actx)
	return err
}

func (c *natsCluster) urls() string {
	var u []string
	for _, n := range c.nodes {
		u = append(u, fmt.Sprintf("nats://127.0.0.1:%d", n.port))
	}
	return strings.Join(u, ",")
}

// js is a JetStream client of the cluster for inspecting streams.
func (c *natsCluster) js(t *testing.T) natsjs.JetStream {
	t.Helper()
	nc, err := nats.Connect(c.urls(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// kill sends SIGKILL to the named node and waits for it to exit.
func (c *natsCluster) kill(t *testing.T, name string) {
	t.Helper()
	for _, n := range c.nodes {
		if n.name == name {
			if err := n.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Fatal(err)
			}
			<-n.done
			return
		}
	}
	t.Fatalf("no NATS node %q", name)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
