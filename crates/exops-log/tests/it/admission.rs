//! One admission rule: a dry run on the [`exops_log::Admission`] a log opens with gives
//! exactly the answers the writer then gives to the same submissions (duplicates,
//! refusals, rejections by the state, encoding errors, sequence numbers), and leaves the
//! state the writer ends with.

use exops_core::{Actor, Event};
use exops_log::{AppendError, Appended, Log, LogOptions, Submission, Verdict};

use crate::support::{Rng, at, login, venue_submission};

/// Customers 1..=4, the setup actor, and a staff member: one id counter each.
const ACTORS: usize = 6;

fn actor(index: usize) -> Actor {
    match index {
        0..=3 => Actor::Customer(index as u32 + 1),
        4 => crate::support::setup_actor(),
        _ => Actor::Staff("ops.ana".to_owned()),
    }
}

/// A seeded stream of submissions of every kind the rule tells apart: new ids, retries
/// of earlier submissions with their original (earlier) timestamps, ids below the
/// actor's last, time going backwards, events the state rejects (a second venue, written
/// as a rejection), and events that cannot be encoded.
struct Workload {
    rng: Rng,
    next_id: [u64; ACTORS],
    clock_seconds: i64,
    sent: Vec<Submission>,
}

impl Workload {
    fn new(seed: u64) -> Workload {
        Workload { rng: Rng::new(seed), next_id: [1; ACTORS], clock_seconds: 1, sent: vec![venue_submission()] }
    }

    fn fresh(&mut self, index: usize, at_seconds: i64) -> Submission {
        let id = self.next_id[index];
        self.next_id[index] += 1 + self.rng.below(3);
        let event = if index == 4 { crate::support::venue() } else { Event::LoginAttempted };
        Submission { at: at(at_seconds), id, actor: actor(index), event, note: None }
    }

    fn next(&mut self) -> Submission {
        let index = self.rng.below(ACTORS as u64) as usize;
        let submission = match self.rng.below(20) {
            // A retry of something sent before, exactly as it was.
            0..=2 => self.sent[self.rng.below(self.sent.len() as u64) as usize].clone(),
            // A new id, but earlier than the log's clock.
            3 | 4 => {
                let seconds = self.clock_seconds - 1 - self.rng.below(5) as i64;
                self.fresh(index, seconds)
            }
            // An id at or below one the actor used, at the current time.
            5 => {
                let id = self.rng.below(self.next_id[index]);
                Submission { id, ..self.fresh(index, self.clock_seconds) }
            }
            // A staff name that does not survive its text form.
            6 => Submission { actor: Actor::Staff("two words".to_owned()), ..self.fresh(5, self.clock_seconds) },
            // New, at the same instant or later.
            _ => {
                self.clock_seconds += self.rng.below(3) as i64;
                self.fresh(index, self.clock_seconds)
            }
        };
        self.sent.push(submission.clone());
        submission
    }
}

/// The writer's answers to `submissions`, sent in seeded chunks, some one by one and
/// some as batches.
fn write(log: &Log, submissions: &[Submission], rng: &mut Rng) -> Vec<Result<Appended, AppendError>> {
    let appender = log.appender();
    let mut pending = Vec::new();
    let mut rest = submissions;
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at((1 + rng.below(12) as usize).min(rest.len()));
        rest = after;
        if rng.below(2) == 0 {
            pending.push(Err(appender.submit_batch(chunk.to_vec()).unwrap()));
        } else {
            pending.extend(chunk.iter().map(|submission| Ok(appender.submit(submission.clone()).unwrap())));
        }
    }
    let mut answers = Vec::new();
    for ticket in pending {
        match ticket {
            Ok(one) => answers.push(one.wait()),
            Err(batch) => answers.extend(batch.wait()),
        }
    }
    answers
}

fn same_answer(dry: &Result<Appended, AppendError>, written: &Result<Appended, AppendError>) -> bool {
    match (dry, written) {
        (Ok(dry), Ok(written)) => dry == written,
        // A batch's bodies are encoded before they have a seq, so only the message's
        // context differs.
        (Err(AppendError::Encoding(_)), Err(AppendError::Encoding(_))) => true,
        _ => false,
    }
}

#[test]
fn a_dry_run_from_open_answers_exactly_as_the_writer_does() {
    let mut kinds = [0_usize; 5];
    for seed in 0..8_u64 {
        let dir = tempfile::tempdir().unwrap();
        exops_log::init(dir.path()).unwrap();
        let mut workload = Workload::new(seed);
        let mut rng = Rng::new(seed ^ 0xd1ce);
        // A history first, so that the log opens with ids, a clock and a seq to check
        // against.
        let opened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
        let mut history = vec![venue_submission()];
        history.extend((0..40).map(|_| workload.next()));
        write(&opened.log, &history, &mut rng);
        opened.log.close().unwrap();

        let opened = Log::open(dir.path(), LogOptions { batch_max: 5, ..LogOptions::default() }, None).unwrap();
        let mut admission = opened.admission();
        assert_eq!(admission.last_seq(), opened.last_seq, "seed {seed}");
        assert_eq!(admission.last_at(), opened.last_at, "seed {seed}");
        let submissions: Vec<Submission> = (0..300).map(|_| workload.next()).collect();
        let dry: Vec<_> = submissions.iter().map(|submission| admission.dry_run(submission)).collect();
        let written = write(&opened.log, &submissions, &mut rng);
        assert_eq!(dry.len(), written.len());
        for (index, ((dry, written), submission)) in dry.iter().zip(&written).zip(&submissions).enumerate() {
            assert!(
                same_answer(dry, written),
                "seed {seed}, submission {index} {submission:?}:\n dry run {dry:?}\n writer  {written:?}"
            );
            let kind = match written {
                Ok(Appended::Durable { outcome: exops_core::Outcome::Rejected(_), .. }) => 1,
                Ok(Appended::Durable { .. }) => 0,
                Ok(Appended::Duplicate { .. }) => 2,
                Ok(Appended::Refused { .. }) => 3,
                Err(_) => 4,
            };
            kinds[kind] += 1;
        }
        let state = opened.log.close().unwrap();
        assert_eq!((admission.last_seq(), admission.state()), (state.seq(), &state), "seed {seed}");

        // Opened again, the log starts from where the dry run ended.
        let reopened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
        let again = reopened.admission();
        assert_eq!((again.last_seq(), again.last_at(), again.state()), (state.seq(), admission.last_at(), &state));
        reopened.log.close().unwrap();
    }
    // Every kind of answer came up often enough to mean something.
    assert!(kinds.iter().all(|count| *count >= 20), "durable, rejected, duplicate, refused, unencodable: {kinds:?}");
}

/// A retry of an event already written carries its original, earlier timestamp: it is a
/// duplicate (answered with the actor's last id), not a refusal for going back in time.
/// Duplicates are decided before time.
#[test]
fn a_retry_with_its_original_earlier_timestamp_is_a_duplicate_not_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    exops_log::init(dir.path()).unwrap();
    let opened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
    for submission in [venue_submission(), login(1, 1, 10), login(2, 1, 20)] {
        assert!(matches!(opened.log.appender().append(submission).unwrap(), Appended::Durable { .. }));
    }
    opened.log.close().unwrap();

    let opened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
    let retry = login(1, 1, 10);
    let mut admission = opened.admission();
    assert_eq!(admission.verdict(&retry.actor, retry.id, retry.at), Verdict::Duplicate { last_id: 1 });
    // The same new id at that time would be refused: the time alone does not decide.
    assert!(matches!(admission.verdict(&retry.actor, 2, retry.at), Verdict::Refused { .. }));
    assert_eq!(admission.dry_run(&retry).unwrap(), Appended::Duplicate { last_id: 1 });
    assert_eq!(opened.log.appender().append(retry).unwrap(), Appended::Duplicate { last_id: 1 });
    assert_eq!(opened.log.close().unwrap().seq(), 3);
}
