use std::time::Instant as T;
fn main() {
    let root = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    for _ in 0..2 {
        let t = T::now();
        let site = imprimatur::site::Site::load(&root).unwrap();
        let t1 = t.elapsed();
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let eval = site.evaluate(now, &site.config.audiences);
        let t2 = t.elapsed();
        eprintln!(
            "load {:?} evaluate {:?} pages {}",
            t1,
            t2 - t1,
            eval.pages.len()
        );
    }
}
