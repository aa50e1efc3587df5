//! Every way a command can fail, with the exit code and the stable `code` it reports:
//! the one place where library errors become exit statuses. The libraries' error types
//! say what went wrong; this module says what it means for the caller of the binary.

use serde::Serialize;

/// What kind of failure, as a caller can act on it. The string form (`code` in JSON
/// errors) is stable; docs/cli.md lists every one.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// Bad arguments, or arguments that do not go together.
    Usage,
    /// A file named on the command line does not exist.
    NoSuchFile,
    /// A directory was given where a data directory is expected, but it is not one.
    NotADataDirectory,
    /// An input exists but cannot be read as what it should be (a directory for a file,
    /// no permission).
    Unreadable,
    /// A line of a log is not an event, the log is empty, or it is only a tail; or the log
    /// declares a rules version newer than this build folds.
    InvalidLog,
    /// The durable log fails a checksum, the sequence or the hash chain.
    Damaged,
    /// `check` found events the state rejects.
    Rejected,
    /// A scenario file is invalid.
    InvalidScenario,
    /// A plan file is invalid.
    InvalidPlan,
    /// `lint` found something wrong with the plan.
    Findings,
    /// `simulate --strict`: the plan breaks the venue's controls.
    Violations,
    /// An append was refused (time going backwards) where nothing may be left half done.
    Refused,
    /// Another process is writing to the data directory.
    Busy,
    /// Reading or writing failed for a reason outside the input (disk full, I/O error).
    Io,
    /// The log writer stopped after an error; nothing more is acknowledged.
    WriterFailed,
    /// The data directory and the venue's NATS stream hold different histories (a fork),
    /// or the stream holds fewer blocks than the data directory.
    Diverged,
    /// Another writer claimed the venue's stream: this one's publishes are refused.
    Fenced,
    /// The NATS cluster cannot be reached, refused a request, or left a publish unanswered.
    Nats,
}

impl Code {
    /// 0 success; 1 the input is invalid or a check found problems; 2 usage: bad
    /// arguments or an input that cannot be opened as what it should be; 3 the operation
    /// failed for a reason outside the input.
    pub fn exit(self) -> u8 {
        match self {
            Code::Usage | Code::NoSuchFile | Code::NotADataDirectory | Code::Unreadable => 2,
            Code::InvalidLog
            | Code::Damaged
            | Code::Rejected
            | Code::InvalidScenario
            | Code::InvalidPlan
            | Code::Findings
            | Code::Violations
            | Code::Refused
            | Code::Diverged => 1,
            Code::Busy | Code::Io | Code::WriterFailed | Code::Fenced | Code::Nats => 3,
        }
    }
}

/// A failure: its code and the sentence for the user (empty when the command already
/// printed what went wrong, as `check` and `lint` do).
#[derive(Debug)]
pub struct Failure {
    pub code: Code,
    pub message: String,
    /// The command's output already says what went wrong (as `check` and `lint` do), so
    /// text mode prints no error line; JSON errors still carry the message.
    pub shown: bool,
}

impl Failure {
    pub fn new(code: Code, message: impl ToString) -> Failure {
        Failure { code, message: message.to_string(), shown: false }
    }

    pub fn usage(message: impl ToString) -> Failure {
        Failure::new(Code::Usage, message)
    }

    pub fn io(message: impl ToString) -> Failure {
        Failure::new(Code::Io, message)
    }

    /// A failure whose explanation is already on the output.
    pub fn shown(code: Code, message: impl ToString) -> Failure {
        Failure { code, message: message.to_string(), shown: true }
    }

    /// The failure as a JSON object, for `--format json`.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Body<'a> {
            code: Code,
            exit: u8,
            message: &'a str,
        }
        #[derive(Serialize)]
        struct Wrapper<'a> {
            error: Body<'a>,
        }
        let wrapper = Wrapper { error: Body { code: self.code, exit: self.code.exit(), message: &self.message } };
        serde_json::to_string(&wrapper).unwrap_or_else(|_| format!("{{\"error\":{{\"exit\":{}}}}}", self.code.exit()))
    }
}

impl From<exops_log::StoreError> for Failure {
    fn from(error: exops_log::StoreError) -> Failure {
        let code = match &error {
            exops_log::StoreError::NotALog { .. } => Code::NotADataDirectory,
            exops_log::StoreError::Busy(_) => Code::Busy,
            exops_log::StoreError::Damaged(_) => Code::Damaged,
            exops_log::StoreError::Rules { .. } => Code::InvalidLog,
            exops_log::StoreError::Io { .. } => Code::Io,
        };
        Failure::new(code, error)
    }
}

impl From<exops_log::AppendError> for Failure {
    fn from(error: exops_log::AppendError) -> Failure {
        let code = match &error {
            exops_log::AppendError::Poisoned(_) | exops_log::AppendError::Closed => Code::WriterFailed,
            exops_log::AppendError::Encoding(_) => Code::InvalidLog,
        };
        Failure::new(code, error)
    }
}

impl From<exops_nats::NatsError> for Failure {
    fn from(error: exops_nats::NatsError) -> Failure {
        use exops_log::replica::AppendBytesError;
        use exops_nats::NatsError;
        let error = match error {
            NatsError::Store(store) => return Failure::from(store),
            other => other,
        };
        let code = match &error {
            NatsError::BadVenue { .. } | NatsError::BadFollowerName { .. } => Code::Usage,
            NatsError::Connect { .. }
            | NatsError::Api { .. }
            | NatsError::NoStream { .. }
            | NatsError::BadReport { .. }
            | NatsError::TooLarge { .. }
            | NatsError::Unacknowledged { .. } => Code::Nats,
            NatsError::Fenced { .. } => Code::Fenced,
            NatsError::Fork { .. } | NatsError::StreamBehind { .. } => Code::Diverged,
            NatsError::BadBlock { .. } | NatsError::Sequence { .. } => Code::Damaged,
            NatsError::Decode { .. } => Code::InvalidLog,
            NatsError::Append { source: AppendBytesError::Block(_), .. } => Code::Damaged,
            NatsError::Append { source: AppendBytesError::Store(_), .. } | NatsError::Store(_) => Code::Io,
        };
        Failure::new(code, error)
    }
}

impl From<exops_jsonl::ParseError> for Failure {
    fn from(error: exops_jsonl::ParseError) -> Failure {
        Failure::new(Code::InvalidLog, error)
    }
}

impl From<exops_replay::SourceError> for Failure {
    fn from(error: exops_replay::SourceError) -> Failure {
        use exops_replay::SourceError;
        let code = match error {
            SourceError::NoSuchFile { .. } => Code::NoSuchFile,
            SourceError::NotADataDirectory { .. } => Code::NotADataDirectory,
            SourceError::Unreadable { .. } => Code::Unreadable,
            SourceError::Parse(_) | SourceError::Empty { .. } => Code::InvalidLog,
            SourceError::Store(store) => return Failure::from(store),
        };
        Failure::new(code, error)
    }
}

impl From<exops_sim::scenario::ScenarioError> for Failure {
    fn from(error: exops_sim::scenario::ScenarioError) -> Failure {
        Failure::new(Code::InvalidScenario, error)
    }
}

impl From<exops_sim::plan::PlanError> for Failure {
    fn from(error: exops_sim::plan::PlanError) -> Failure {
        Failure::new(Code::InvalidPlan, error)
    }
}

/// Checks that `path`, named on the command line as `what` ("the scenario"), is a file
/// that exists, before anything else is done with it.
pub fn input_file(path: &std::path::Path, what: &str) -> Result<(), Failure> {
    match std::fs::metadata(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(Failure::new(
            Code::NoSuchFile,
            format!("cannot read {what} `{}`: no such file or directory", path.display()),
        )),
        Err(error) => Err(Failure::new(
            Code::Unreadable,
            format!("cannot read {what} `{}`: {}", path.display(), io_reason(&error)),
        )),
        Ok(metadata) if metadata.is_dir() => Err(Failure::new(
            Code::Unreadable,
            format!("cannot read {what} `{}`: it is a directory, not a file", path.display()),
        )),
        Ok(_) => Ok(()),
    }
}

impl From<exops_sim::SimError> for Failure {
    fn from(error: exops_sim::SimError) -> Failure {
        use exops_sim::SimError;
        let code = match error {
            SimError::TooManyRequests { .. } => Code::Usage,
            SimError::NoVenue => Code::InvalidLog,
            SimError::ScenarioEvent(_) => Code::InvalidScenario,
            SimError::Source(source) => return Failure::from(source),
        };
        Failure::new(code, error)
    }
}

/// An I/O error's reason in the words every message uses ("no such file or directory",
/// "permission denied"), without the OS error number.
pub fn io_reason(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::StorageFull => "no space left on the device".to_owned(),
        _ => error.to_string(),
    }
}
