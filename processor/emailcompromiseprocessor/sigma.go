package emailcompromiseprocessor // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/detection"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/sigma"
)

// loadSigma compiles the configured Sigma rules once, at creation. Each rule
// that fails is logged with its file, line and reason and skipped, unless
// sigma.fail_on_error makes that fatal. No rules configured: no detector.
func loadSigma(cfg sigma.Config, logger *zap.Logger) (*detection.Sigma, *sigma.Engine, error) {
	if len(cfg.Rules) == 0 {
		return nil, nil, nil
	}
	engine, report, err := sigma.Load(cfg)
	for _, e := range report.Errors {
		logger.Warn("Sigma rule not loaded", zap.String("file", e.File), zap.Int("line", e.Line),
			zap.String("rule", e.Rule), zap.String("reason", e.Reason))
	}
	if err != nil {
		return nil, nil, err
	}
	for _, n := range report.Notes {
		logger.Info("Sigma rule loaded with a note", zap.String("file", n.File), zap.Int("line", n.Line),
			zap.String("rule", n.Rule), zap.String("note", n.Note))
	}
	logger.Info("Sigma rules loaded", zap.Int("files", report.Files), zap.Int("loaded", report.Loaded),
		zap.Int("filters", report.Filters), zap.Int("inactive", len(report.Inactive)), zap.Int("rejected", len(report.Errors)),
		zap.Int("notes", len(report.Notes)))
	return detection.NewSigma(engine), engine, nil
}

// Sigma's correlation state is snapshotted beside the per-user state, under
// keys of its own: chunks under a generation, then a manifest naming the
// generation, then the previous generation's chunks go, so that a crash at
// any point leaves a complete snapshot readable.
const sigmaStatePrefix = "email_compromise/sigma/v1/"

func sigmaChunkKey(generation uint64, chunk int) string {
	return fmt.Sprintf("%s%d/%d", sigmaStatePrefix, generation, chunk)
}

// saveSigmaState snapshots the engine's correlation state.
func saveSigmaState(ctx context.Context, client storage.Client, engine *sigma.Engine) error {
	generation, old, err := readSigmaManifest(ctx, client)
	if err != nil {
		return err
	}
	chunks := 0
	err = engine.SaveCorrelations(func(data []byte) error {
		err := client.Set(ctx, sigmaChunkKey(generation+1, chunks), data)
		chunks++
		return err
	})
	if err != nil {
		return err
	}
	if err := client.Set(ctx, sigmaStatePrefix+"manifest", []byte(fmt.Sprintf("%d %d", generation+1, chunks))); err != nil {
		return err
	}
	deletes := make([]*storage.Operation, old)
	for i := range deletes {
		deletes[i] = storage.DeleteOperation(sigmaChunkKey(generation, i))
	}
	return client.Batch(ctx, deletes...)
}

// loadSigmaState restores the engine's correlation state from the latest
// snapshot, if any.
func loadSigmaState(ctx context.Context, client storage.Client, engine *sigma.Engine) (sigma.RestoreReport, error) {
	generation, n, err := readSigmaManifest(ctx, client)
	if err != nil || n == 0 {
		return sigma.RestoreReport{}, err
	}
	chunks := make([][]byte, n)
	for i := range chunks {
		if chunks[i], err = client.Get(ctx, sigmaChunkKey(generation, i)); err != nil {
			return sigma.RestoreReport{}, err
		}
		if chunks[i] == nil {
			return sigma.RestoreReport{}, fmt.Errorf("Sigma state snapshot generation %d lacks chunk %d", generation, i)
		}
	}
	return engine.RestoreCorrelations(chunks)
}

func readSigmaManifest(ctx context.Context, client storage.Client) (generation uint64, chunks int, err error) {
	data, err := client.Get(ctx, sigmaStatePrefix+"manifest")
	if err != nil || data == nil {
		return 0, 0, err
	}
	gen, n, ok := strings.Cut(string(data), " ")
	g, err1 := strconv.ParseUint(gen, 10, 64)
	c, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || c < 0 {
		return 0, 0, errors.New("Sigma state snapshot manifest is corrupt")
	}
	return g, c, nil
}
