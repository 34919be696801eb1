// Package weblog detects web-application compromise from access logs.
//
// It owns the whole offline path from a log file to scored hits: streaming
// parsers for the usual access-log formats with format auto-detection and
// coverage accounting (record.go, format.go, reader.go), payload rules (the
// OWASP Core Rule Set evaluated through Coraza, behind cheap prefilters, plus
// targeted signatures kept as data in signatures.txt that run on the output
// of a decoding and normalisation pipeline modelled on the CRS
// transformations, normalize.go),
// per-client behaviour detectors over streaming windows, and success scoring
// of every attack candidate against the normal responses of the same path.
//
// The analysis reads a file twice: the first pass builds bounded per-path
// statistics (response sizes of non-suspicious requests, distinct clients),
// the second detects and scores. Memory stays bounded whatever the file size.
package weblog
