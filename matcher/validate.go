package matcher

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// identifierPatterns is the Astra Identifier Schema (type_astra_identifier):
// a lowercase UUIDv4, a UUIDv5-shaped ID, or the nil UUID.
var identifierPatterns = []*regexp.Regexp{
	regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`),
	regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$`),
	regexp.MustCompile(`^((0){8}(-(0){4}){3}-(0){12})$`),
}

// ValidIdentifier reports whether id conforms to the Astra Identifier Schema.
func ValidIdentifier(id string) bool {
	for _, re := range identifierPatterns {
		if re.MatchString(id) {
			return true
		}
	}
	return false
}

var (
	versions      = []string{Version13, Version12, Version11, Version10}
	hookTypes     = []string{HookTypeNetApp, HookTypeCustom}
	actions       = []Action{ActionSnapshot, ActionBackup, ActionRestore, ActionFailover}
	stages        = []Stage{StagePre, StagePost}
	criterionType = []string{CriterionContainerImage, CriterionContainerName, CriterionPodName, CriterionPodLabel, CriterionNamespaceName}
	enabledValues = []string{EnabledTrue, EnabledFalse}
	failureModes  = []FailureMode{FailureModeWarn, FailureModeFail}
)

// compileFunc compiles a criterion's regex.
type compileFunc func(pattern string) (*regexp.Regexp, error)

// Validate checks h against the Astra executionHook schema (POST request
// body, version 1.3) and the Hookshot extensions. It returns nil or a
// *ValidationError naming every invalid field. ID is optional (the server
// assigns it) but must be an Astra identifier when set.
func (h *ExecutionHook) Validate() error {
	_, err := h.validate(compile)
	return err
}

// validate checks every field of h and returns the compiled criteria
// regexes, in the order of h.MatchingCriteria, when h is valid.
func (h *ExecutionHook) validate(compile compileFunc) ([]*regexp.Regexp, error) {
	ve := &ValidationError{}
	enum(ve, "type", h.Type, true, MediaType)
	enum(ve, "version", h.Version, true, versions...)
	if h.ID != "" {
		identifier(ve, "id", h.ID)
	}
	switch n := utf8.RuneCountInString(h.Name); {
	case n == 0:
		ve.add("name", "required")
	case n > MaxNameLength:
		ve.add("name", "must be at most %d characters, got %d", MaxNameLength, n)
	}
	enum(ve, "hookType", h.HookType, true, hookTypes...)

	res := make([]*regexp.Regexp, len(h.MatchingCriteria))
	if n := len(h.MatchingCriteria); n > MaxCriteria {
		ve.add("matchingCriteria", "must have at most %d items, got %d", MaxCriteria, n)
	}
	for i, c := range h.MatchingCriteria {
		field := fmt.Sprintf("matchingCriteria[%d]", i)
		if j := slices.Index(h.MatchingCriteria[:i], c); j >= 0 {
			ve.add(field, "duplicate of matchingCriteria[%d]", j)
		}
		enum(ve, field+".type", c.Type, true, criterionType...)
		if c.Value == "" {
			ve.add(field+".value", "required")
			continue
		}
		re, err := compile(c.Value)
		if err != nil {
			ve.addExtended(field+".value", "invalid RE2 regex: %v", err)
			continue
		}
		res[i] = re
	}

	actionOK := enum(ve, "action", h.Action, true, actions...)
	if enum(ve, "stage", h.Stage, true, stages...) && actionOK && !ValidActionStage(h.Action, h.Stage) {
		ve.addExtended("stage", "%q is not a stage of action %q (allowed: %s)",
			h.Stage, h.Action, joined(stagesByAction[h.Action]))
	}
	identifier(ve, "hookSourceID", h.HookSourceID)

	if n := len(h.Arguments); n > MaxArguments {
		ve.add("arguments", "must have at most %d items, got %d", MaxArguments, n)
	}
	for i, a := range h.Arguments {
		field := fmt.Sprintf("arguments[%d]", i)
		if j := slices.Index(h.Arguments[:i], a); j >= 0 {
			ve.add(field, "duplicate of arguments[%d]", j)
		}
		if n := utf8.RuneCountInString(a); n > MaxArgumentLength {
			ve.add(field, "must be at most %d characters, got %d", MaxArgumentLength, n)
		}
	}

	identifier(ve, "appID", h.AppID)
	enum(ve, "enabled", h.Enabled, false, enabledValues...)
	if n := utf8.RuneCountInString(h.Description); n > MaxDescriptionLength {
		ve.add("description", "must be at most %d characters, got %d", MaxDescriptionLength, n)
	}
	if t := h.TimeoutSeconds; t < 0 || t > MaxTimeoutSeconds {
		ve.add("timeoutSeconds", "must be between 1 and %d (0 or absent: %d)",
			MaxTimeoutSeconds, int(DefaultTimeout.Seconds()))
	}
	enum(ve, "failureMode", h.FailureMode, false, failureModes...)

	if err := ve.orNil(); err != nil {
		return nil, err
	}
	return res, nil
}

// enum records field as invalid unless v is one of allowed (or empty and not
// required). It reports whether v is one of allowed.
func enum[T ~string](ve *ValidationError, field string, v T, required bool, allowed ...T) bool {
	if slices.Index(allowed, v) >= 0 {
		return true
	}
	switch {
	case v == "" && required:
		ve.add(field, "required")
	case v != "":
		ve.add(field, "must be one of %q", allowed)
	}
	return false
}

// joined is strings.Join(vs, ", ") of string-kind values.
func joined[T ~string](vs []T) string {
	ss := make([]string, len(vs))
	for i, v := range vs {
		ss[i] = string(v)
	}
	return strings.Join(ss, ", ")
}

// identifier records field as invalid unless v is an Astra identifier.
func identifier(ve *ValidationError, field, v string) {
	switch {
	case v == "":
		ve.add(field, "required")
	case !ValidIdentifier(v):
		ve.add(field, "must conform to the Astra Identifier Schema (a lowercase UUID)")
	}
}
