package detection

// BuiltinRules lists every rule of the built-in detectors, enabled or not.
// A collector reading records an earlier collector of ours already tagged
// (tier 2 of a scale-out, reading what tier 1 tagged) looks their ids up here.
func BuiltinRules() []*Rule {
	return []*Rule{
		RuleIdPRisk, RuleRiskDetection, RuleLegacyAuth, RuleBruteForce, RulePasswordSpray, RuleMFAFatigue, RuleAnonymizer,
		RuleNewCountry, RuleNewASN, RuleImpossibleTravel,
		RuleInboxRuleForward, RuleInboxRuleHiding, RuleMailboxForwarding, RuleTransportRule,
		RuleDelegation, RuleEmailMonitor, RuleGmailSettings,
		RuleBulkSend, RuleThreadReply, RuleSentDeleted,
		RulePasswordSprayAttempt, RuleAccountLockout, RuleDeviceCode, RuleSessionReplay,
		RuleSecurityInfo, RuleDeviceRegistered, RuleMailAppConsent, RuleMailCollection, RuleSyncByNewApp,
		RuleChain,
	}
}
