//! Integration tests of tpr-dialplan, in one binary.

mod alloc;
mod behaviour;
mod corpus;
mod fuzz_regressions;
mod inputs;
mod properties;
mod service_table;
