package vicirec

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/strongswan/govici/vici"
)

func TestConvert(t *testing.T) {
	child := vici.NewMessage()
	child.Set("spi-in", "59bcf2d3")
	child.Set("local-ts", []string{"10.1.0.1/32"})
	sas := vici.NewMessage()
	sas.Set("net-1", child)
	ike := vici.NewMessage()
	ike.Set("initiator-spi", "ede42d4527d9c18e")
	ike.Set("child-sas", sas)
	m := vici.NewMessage()
	m.Set("up", "yes")
	m.Set("ike", ike)
	s, err := convert(m, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Keys(), []string{"up", "ike"}) || s.Str("up") != "yes" {
		t.Errorf("keys %v", s.Keys())
	}
	c := s.Sub("ike").Sub("child-sas").Sub("net-1")
	if c.Str("spi-in") != "59bcf2d3" || !reflect.DeepEqual(c.List("local-ts"), []string{"10.1.0.1/32"}) {
		t.Errorf("child %v", c.Keys())
	}
}

func TestRecordNoDaemon(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := Record(ctx, filepath.Join(t.TempDir(), "no.vici"), nil, Events)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v", err)
	}
}
