//! Where verdicts and errors of every input go, in the format asked for.

use std::io::{self, Write};

use super::report_error;
use crate::error::Error;
use crate::report::{self, Format, View};
use crate::verdict::Verdict;

/// Prints the verdicts and errors of every input in the format asked for: JSON with several
/// inputs is one array at the end; JSON lines, one object per input as it comes.
pub struct Printer<W: Write> {
    pub out: W,
    pub view: View,
    pub format: Format,
    pub several: bool,
    pub json: Vec<serde_json::Value>,
    pub printed: usize,
}

impl<W: Write> Printer<W> {
    pub fn verdicts(&mut self, verdicts: &[Verdict], name: &str) -> io::Result<()> {
        for verdict in verdicts {
            if self.format == Format::Json && self.several {
                self.json
                    .push(serde_json::to_value(verdict).map_err(io::Error::other)?);
                continue;
            }
            if self.printed > 0 && self.format != Format::Jsonl {
                writeln!(self.out)?;
            }
            self.printed += 1;
            let source = self.several.then_some(name);
            report::write_view(&mut self.out, verdict, self.format, &self.view, source)?;
        }
        Ok(())
    }

    /// The error goes to stderr (done by the caller's `report_error`); in JSON it also takes the
    /// input's place in the output.
    pub fn error(&mut self, e: &Error, name: &str) -> io::Result<()> {
        report_error(e);
        let input = self.several.then_some(name);
        match self.format {
            Format::Json if self.several => {
                self.json
                    .push(serde_json::to_value(e.report(input)).map_err(io::Error::other)?);
                Ok(())
            }
            Format::Json => report::write_json(&mut self.out, &e.report(input)),
            Format::Jsonl => report::write_json_line(&mut self.out, &e.report(Some(name))),
            Format::Human | Format::Markdown => Ok(()),
        }
    }

    pub fn finish(mut self) -> io::Result<()> {
        if self.format == Format::Json && self.several {
            report::write_json(&mut self.out, &self.json)?;
        }
        self.out.flush()
    }
}
