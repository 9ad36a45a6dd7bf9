package procstat

import (
	"net"
	"os"
	"testing"
)

func TestOwnProcess(t *testing.T) {
	if rss, peak := Memory(os.Getpid()); rss <= 0 || peak < rss {
		t.Errorf("Memory = %g, %g MiB; want a positive RSS at most its peak", rss, peak)
	}
	if cpu := CPUSeconds(os.Getpid()); cpu < 0 {
		t.Errorf("CPUSeconds = %g", cpu)
	}
	if rss, _ := Memory(-1); rss != 0 || CPUSeconds(-1) != 0 {
		t.Error("a missing process reads as something")
	}
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("FreeAddr %s is not free: %v", addr, err)
	}
	l.Close()
}
