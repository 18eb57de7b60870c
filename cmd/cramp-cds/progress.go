package main

import (
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/cramp-cds/cramp-cds/cdshooks/kit/population"
)

// newProgress shows a population run's progress: a progress bar (patients
// done, rate, ETA) when stderr is a terminal, else a log line every interval.
func newProgress(stderr io.Writer, logger *slog.Logger, interval time.Duration) population.Progress {
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{out: stderr}
	}
	return &logProgress{logger: logger, interval: interval, now: time.Now}
}

// barProgress draws a terminal progress bar.
type barProgress struct {
	out io.Writer
	bar *progressbar.ProgressBar
}

func (p *barProgress) Start(total int) {
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.out),
		progressbar.OptionSetDescription("patients"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("patients"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

func (p *barProgress) Done(n int) {
	if p.bar != nil {
		p.bar.Add(n)
	}
}

func (p *barProgress) Finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

// logProgress logs progress at most once per interval, for logs and CI.
type logProgress struct {
	logger   *slog.Logger
	interval time.Duration
	now      func() time.Time

	mu          sync.Mutex
	total, done int
	start, last time.Time
}

func (p *logProgress) Start(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total, p.start, p.last = total, p.now(), p.now()
	p.logger.Info("population: evaluating patients", slog.Int("total", total))
}

func (p *logProgress) Done(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if now := p.now(); now.Sub(p.last) >= p.interval {
		p.last = now
		p.log(now, "population: progress")
	}
}

func (p *logProgress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log(p.now(), "population: patients evaluated")
}

// log writes one line: patients done of total, rate, and ETA when the total is known.
func (p *logProgress) log(now time.Time, msg string) {
	elapsed := now.Sub(p.start)
	attrs := []any{slog.Int("done", p.done), slog.Int("total", p.total)}
	if elapsed > 0 {
		rate := float64(p.done) / elapsed.Seconds()
		attrs = append(attrs, slog.Float64("patients_per_second", float64(int(rate*10))/10))
		if p.total > 0 && rate > 0 {
			attrs = append(attrs, slog.Duration("eta", time.Duration(float64(p.total-p.done)/rate*float64(time.Second)).Round(time.Second)))
		}
	}
	p.logger.Info(msg, attrs...)
}
