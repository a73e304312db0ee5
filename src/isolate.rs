//! Runs untrusted document parsers in a child process (this same binary, hidden
//! subcommand `__parse-doc`) with a timeout and a memory cap, so a parser that panics,
//! loops or balloons costs one `corrupt_attachment` problem, never the daemon.
