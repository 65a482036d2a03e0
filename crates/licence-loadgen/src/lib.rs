//! Load generator for the platform's surge path (错峰申请, R5.1): many signed-in drivers
//! submit e-licence applications with a ~20 KB photo at once, over real HTTP on loopback,
//! against the real `licence-server` binary. It reports throughput and latency percentiles
//! and then checks the database: every application the server acknowledged must be there,
//! exactly once.
//!
//! Drivers are seeded straight into a fresh database (registry entry, face-signed account,
//! session), because registering 40 000 people through the API would measure argon2 and the
//! identity sandbox instead of the submission path.
//!
//! Connections are spread over many loopback source addresses (127.0.x.y), so that the
//! server's per-address limit sees many clients, as it would in the field.

mod database;
mod ledger;
mod phase;
mod phones;
mod report;
mod server;
mod server_log;
mod submission;
mod verify;

pub use database::{sample_photo, seed, synthetic_person, update_licence, Database, Driver};
pub use ledger::{Ledger, Pending};
pub use phase::{pace_name, run_phase, Pace, Phase};
pub use phones::{
    client_name, next_step, Answer, ClientModel, Next, BACKOFF_FIRST, BACKOFF_MAX, IMPATIENT_PAUSE,
};
pub use report::{ms, PhaseReport};
pub use server::{cpu_list, cpu_seconds, server_binary, sibling_binary, Server};
pub use server_log::{read as read_server_log, stretches as log_stretches, ServerView};
pub use submission::{HttpVersion, Submission};
pub use verify::{verify, Verification};
