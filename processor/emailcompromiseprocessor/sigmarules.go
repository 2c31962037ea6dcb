package emailcompromiseprocessor // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"

import (
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/detection"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/sigma"
)

// loadSigmaRules compiles the configured Sigma rules once, at creation. Each rule
// that fails is logged with its file, line and reason and skipped, unless
// sigma.fail_on_error makes that fatal; each loaded with a note (a Sigma v1
// form translated, a filter left alone) is logged too. No rules configured:
// no detector. The engine is returned beside the detector for its
// correlation state, which the processor snapshots.
func loadSigmaRules(cfg sigma.Config, logger *zap.Logger) (*detection.SigmaRules, *sigma.Engine, error) {
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
	return detection.NewSigmaRules(engine), engine, nil
}
