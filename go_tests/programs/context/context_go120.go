//go:build go1.20

package main

import (
	"context"
	"errors"
	"time"
)

func init() { laterParts = append(laterParts, causes) }

func causes() {
	ctx, cancel := context.WithCancelCause(context.Background())
	reason := errors.New("disk on fire")
	done := make(chan error)
	go func() {
		<-ctx.Done()
		done <- context.Cause(ctx)
	}()
	cancel(reason)
	select {
	case got := <-done:
		check(got == reason, "Cause = %v, want %v", got, reason)
	case <-time.After(deadline):
		check(false, "cause never delivered")
	}
	check(ctx.Err() == context.Canceled, "Err = %v", ctx.Err())
	cancel(errors.New("second")) // a second cancel does not replace the cause
	check(context.Cause(ctx) == reason, "cause replaced by a second cancel")
}
