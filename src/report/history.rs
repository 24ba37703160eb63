//! `imprimatur history PAGE` as text: the versions of one page, as `site::history` computes
//! them, one line each with what happened to it below.

use crate::site::history::PageHistory;

impl PageHistory {
    pub fn to_text(&self, style: &crate::report::Style) -> String {
        let mut out = format!(
            "{} ({}), {} version(s)\n",
            self.page,
            style.status(&self.status),
            self.versions.len()
        );
        for v in &self.versions {
            let mut marks = vec![v.state.clone()];
            if v.live_now {
                marks.push("live now".into());
            }
            if v.current {
                marks.push("current".into());
            }
            if !v.stored {
                marks.push("not in the store".into());
            }
            out.push_str(&format!("{}  {}\n", v.version, marks.join(", ")));
            match (&v.submitted_by, &v.submitted_at) {
                (Some(who), Some(at)) => out.push_str(&format!("    submitted by {who} at {at}\n")),
                _ => out.push_str("    never submitted\n"),
            }
            for a in &v.approvals {
                out.push_str(&format!(
                    "    approved by {} in {} at {}\n",
                    a.reviewer, a.step, a.signed_at
                ));
            }
            for p in &v.published {
                match &p.until {
                    Some(until) => {
                        out.push_str(&format!("    published {} until {until}\n", p.from))
                    }
                    None => out.push_str(&format!("    published since {}\n", p.from)),
                }
            }
        }
        out
    }
}
