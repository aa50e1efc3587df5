//! On a cluster that authenticates, only the writer's user can add to the log: a gateway
//! user whose permissions allow its submit subject alone cannot publish a block on the
//! writer's subject, by JetStream or by plain NATS, and the stream does not change. A
//! follower user with the read-only permissions docs/scale-out.md lists follows the
//! stream into a replica.

use std::time::Duration;

use exops_nats::{Connection, cluster};

const AUTHORIZATION: &str = r#"authorization {
  users = [
    { user: writer, password: writer-pw }
    { user: follower, password: follower-pw,
      permissions: { publish: ["$JS.API.CONSUMER.>", "$JS.API.STREAM.INFO.>", "$KV.exops_bp_followers.>", "$JS.API.DIRECT.GET.>"],
                     subscribe: ["_INBOX.>"] } }
    { user: gateway, password: gateway-pw,
      permissions: { publish: ["exops.bp.submit.customer"], subscribe: ["_INBOX.>"] } }
  ]
}"#;

#[test]
fn a_gateway_cannot_publish_on_the_writers_subject() {
    let Some(cluster) = cluster::for_test_authorized(3, AUTHORIZATION, "writer", "writer-pw") else { return };
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("writer");
    crate::replicate::bitpoint_log(&data_dir, 256);
    let writer = Connection::connect(&cluster.url_as("writer", "writer-pw"), "bp").unwrap();
    let session = exops_nats::new_session();
    exops_nats::push(&writer, &data_dir, 3, &session).unwrap();
    let before = writer.head().unwrap().unwrap();
    let subject = exops_nats::writer_subject("bp", &session);
    assert_eq!(before.subjects, vec![subject.clone()]);

    let url = cluster.url_as("gateway", "gateway-pw");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (by_jetstream, by_plain_publish) = runtime.block_on(async {
        let address: async_nats::ServerAddr = url.split(',').next().unwrap().parse().unwrap();
        let client = async_nats::ConnectOptions::with_user_and_password("gateway".into(), "gateway-pw".into())
            .connect(address)
            .await
            .unwrap();
        let jetstream = async_nats::jetstream::new(client.clone());
        let acknowledged = async {
            let ack = jetstream.publish(subject.clone(), "forged block".into()).await?;
            ack.await.map(|_| ()).map_err(async_nats::Error::from)
        };
        let by_jetstream = tokio::time::timeout(Duration::from_secs(3), acknowledged).await;
        let plain = client.publish(subject.clone(), "forged block".into()).await;
        client.flush().await.unwrap();
        (by_jetstream, plain)
    });
    // Refused or never acknowledged: either way not stored.
    assert!(!matches!(by_jetstream, Ok(Ok(()))), "the gateway's JetStream publish was acknowledged");
    // A plain publish is fire-and-forget: the server drops it (a permissions violation).
    drop(by_plain_publish);
    std::thread::sleep(Duration::from_millis(500));
    let after = writer.head().unwrap().unwrap();
    assert_eq!(after, before, "the stream is as the writer left it");

    let follower = Connection::connect(&cluster.url_as("follower", "follower-pw"), "bp").unwrap();
    let replica = dir.path().join("replica");
    let report = exops_nats::follow(&follower, &replica, true, &mut |_| Ok(())).unwrap();
    assert_eq!(report.blocks, before.last_seq, "{report:?}");
}
