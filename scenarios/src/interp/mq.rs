//! Message Queuing statements (docs/scenarios.md "Message Queuing", docs/semantics.md §23):
//! each one builds the arguments and calls the `ThreadCtx::mq_*` method Rust code calls.
//!
//! Format names are strings: a literal (`DIRECT=OS:.\private$\q`, `PRIVATE=...`) or the
//! name of a buffer a call filled (`as=` of MQCreateQueue and MQPathNameToFormatName,
//! `response=` of a receive). A received message's properties go where the statement
//! says: the body, label, correlation id (its trailing NULs cut) and response queue to
//! buffers (replacing what they held), the numbers to variables.

use super::{Cx, Val, exec, hres};
use crate::file::{Arg, Call, Pos};
use sim_core::prelude::*;
use std::rc::Rc;

impl Cx {
    /// A format name argument: `$param`, a buffer a call filled, or the text itself.
    fn format_name(&self, pos: Pos, c: &Call, param: &str) -> String {
        match self.arg(c, param) {
            Some(Arg::Str(s)) if !s.starts_with('$') => match self.st.borrow().buffers.get(s) {
                Some(b) => String::from_utf8_lossy(b).into_owned(),
                None => s.clone(),
            },
            Some(a) => self.string(pos, a),
            None => String::new(),
        }
    }

    /// Puts text into the buffer an argument names (replacing its contents).
    fn put_buffer(&self, c: &Call, param: &str, bytes: &[u8]) {
        if let Some(Arg::Str(name)) = self.arg(c, param) {
            self.st.borrow_mut().buffers.insert(name.clone(), bytes.to_vec());
        }
    }

    /// A received message's properties to the statement's outputs.
    fn bind_mq_message(&self, c: &Call, m: &MqMessage) {
        self.put_buffer(c, "into", &m.body);
        self.put_buffer(c, "label", m.label.as_bytes());
        let mut corr = m.correlation_id.clone();
        while corr.last() == Some(&0) {
            corr.pop();
        }
        self.put_buffer(c, "correlation", &corr);
        self.put_buffer(c, "response", m.response_queue.as_bytes());
        self.bind(c, "body-size", Val::Num(i64::from(m.body_size)));
        self.bind(c, "priority", Val::Num(i64::from(m.priority)));
        self.bind(c, "app-specific", Val::Num(i64::from(m.app_specific)));
        self.bind(c, "class", Val::Num(i64::from(m.class)));
        self.bind(c, "abort-count", Val::Num(i64::from(m.abort_count)));
    }

    /// `transaction=`: NULL, MQ_SINGLE_MESSAGE, MQ_MTS_TRANSACTION, MQ_XA_TRANSACTION or a
    /// handle variable from MQBeginTransaction.
    fn transaction(&self, pos: Pos, c: &Call) -> HANDLE {
        match self.arg(c, "transaction") {
            Some(Arg::Str(s)) if s == "MQ_SINGLE_MESSAGE" => MQ_SINGLE_MESSAGE,
            Some(Arg::Str(s)) if s == "MQ_MTS_TRANSACTION" => MQ_MTS_TRANSACTION,
            Some(Arg::Str(s)) if s == "MQ_XA_TRANSACTION" => MQ_XA_TRANSACTION,
            Some(Arg::Str(s)) if s == "MQ_NO_TRANSACTION" => MQ_NO_TRANSACTION,
            _ => self.h(pos, c, "transaction"),
        }
    }

    /// A format-name buffer's length in characters (`length=`, default 256).
    fn format_name_length(&self, pos: Pos, c: &Call) -> u32 {
        let n = self.n(pos, c, "length", 256);
        match u32::try_from(n) {
            Ok(n) => n,
            Err(_) => self.fail(pos, format!("{} length {n} is outside 0..=4294967295", c.api.name)),
        }
    }

    /// Makes one Message Queuing call; returns its HRESULT as the scenario sees it.
    pub(super) async fn mq(&self, pos: Pos, c: &Call) -> i64 {
        let ctx = &self.ctx;
        match c.api.name {
            "MQCreateQueue" => {
                let path = self.s(pos, c, "path").unwrap_or_default();
                let mut props = MQQUEUEPROPS::path(&path);
                if self.arg(c, "transactional").is_some() {
                    let t = if self.b(c, "transactional") { MQ_TRANSACTIONAL } else { MQ_TRANSACTIONAL_NONE };
                    props = props.with(PROPID_Q_TRANSACTION, MQPROPVARIANT::UI1(t));
                }
                if let Some(label) = self.s(pos, c, "label") {
                    props = props.with(PROPID_Q_LABEL, MQPROPVARIANT::LPWSTR(label));
                }
                if self.arg(c, "quota").is_some() {
                    props = props.with(PROPID_Q_QUOTA, MQPROPVARIANT::UI4(self.u(pos, c, "quota", 0)));
                }
                if self.arg(c, "journal").is_some() {
                    props = props.with(PROPID_Q_JOURNAL, MQPROPVARIANT::UI1(u8::from(self.b(c, "journal"))));
                }
                let (mut name, mut len) = (String::new(), self.format_name_length(pos, c));
                let hr = ctx.mq_create_queue(&props, &mut name, &mut len).await;
                if hr == MQ_OK {
                    self.put_buffer(c, "as", name.as_bytes());
                }
                self.bind(c, "needed", Val::Num(i64::from(len)));
                hres(hr)
            }
            "MQDeleteQueue" => hres(ctx.mq_delete_queue(&self.format_name(pos, c, "format")).await),
            "MQPathNameToFormatName" => {
                let path = self.s(pos, c, "path").unwrap_or_default();
                let (mut name, mut len) = (String::new(), self.format_name_length(pos, c));
                let hr = ctx.mq_path_name_to_format_name(&path, &mut name, &mut len).await;
                if hr == MQ_OK {
                    self.put_buffer(c, "as", name.as_bytes());
                }
                self.bind(c, "needed", Val::Num(i64::from(len)));
                hres(hr)
            }
            "MQOpenQueue" => {
                let format = self.format_name(pos, c, "format");
                let mut q = HANDLE::NULL;
                let hr = ctx
                    .mq_open_queue(&format, self.u(pos, c, "access", 0), self.u(pos, c, "share", MQ_DENY_NONE), &mut q)
                    .await;
                if hr == MQ_OK {
                    self.bind(c, "as", Val::Handle(q));
                }
                hres(hr)
            }
            "MQCloseQueue" => hres(ctx.mq_close_queue(self.h(pos, c, "queue")).await),
            "MQGetQueueProperties" => {
                let mut props = MQQUEUEPROPS::default();
                let hr = ctx.mq_get_queue_properties(&self.format_name(pos, c, "format"), &mut props).await;
                if hr == MQ_OK {
                    for (id, v) in &props.props {
                        match (*id, v) {
                            (PROPID_Q_TRANSACTION, MQPROPVARIANT::UI1(t)) => {
                                self.bind(c, "transactional", Val::Num(i64::from(*t)))
                            }
                            (PROPID_Q_QUOTA, MQPROPVARIANT::UI4(q)) => self.bind(c, "quota", Val::Num(i64::from(*q))),
                            (PROPID_Q_JOURNAL, MQPROPVARIANT::UI1(j)) => {
                                self.bind(c, "journal", Val::Num(i64::from(*j)))
                            }
                            (PROPID_Q_LABEL, MQPROPVARIANT::LPWSTR(l)) => self.put_buffer(c, "label", l.as_bytes()),
                            (PROPID_Q_PATHNAME, MQPROPVARIANT::LPWSTR(p)) => self.put_buffer(c, "path", p.as_bytes()),
                            _ => {}
                        }
                    }
                }
                hres(hr)
            }
            "MQPurgeQueue" => hres(ctx.mq_purge_queue(self.h(pos, c, "queue")).await),
            "MQCreateCursor" => {
                let mut cursor = HANDLE::NULL;
                let hr = ctx.mq_create_cursor(self.h(pos, c, "queue"), &mut cursor).await;
                if hr == MQ_OK {
                    self.bind(c, "as", Val::Handle(cursor));
                }
                hres(hr)
            }
            "MQCloseCursor" => hres(ctx.mq_close_cursor(self.h(pos, c, "cursor")).await),
            "MQSendMessage" => {
                let body = match self.s(pos, c, "body") {
                    Some(text) => text.into_bytes(),
                    None => {
                        let size = self.n(pos, c, "size", 0);
                        if !(0..=1 << 24).contains(&size) {
                            self.fail(pos, format!("MQSendMessage size {size} is outside 0..=16 MiB"));
                        }
                        (0..size).map(|i| b'a' + (i % 26) as u8).collect()
                    }
                };
                let mut props = MQMSGPROPS::body(&body);
                if let Some(label) = self.s(pos, c, "label") {
                    props = props.label(&label);
                }
                if self.arg(c, "priority").is_some() {
                    props = props.with(PROPID_M_PRIORITY, MQPROPVARIANT::UI1(self.n(pos, c, "priority", 0) as u8));
                }
                if let Some(corr) = self.s(pos, c, "correlation") {
                    props = props.correlation_id(corr.as_bytes());
                }
                if self.arg(c, "response").is_some() {
                    props = props.response_queue(&self.format_name(pos, c, "response"));
                }
                if self.arg(c, "app-specific").is_some() {
                    props = props.app_specific(self.u(pos, c, "app-specific", 0));
                }
                if self.arg(c, "ttbr").is_some() {
                    props = props.time_to_be_received(self.u(pos, c, "ttbr", 0));
                }
                if self.arg(c, "ttrq").is_some() {
                    let v = MQPROPVARIANT::UI4(self.u(pos, c, "ttrq", 0));
                    props = props.with(PROPID_M_TIME_TO_REACH_QUEUE, v);
                }
                if self.arg(c, "journal").is_some() {
                    props = props.journal(self.n(pos, c, "journal", 0) as u8);
                }
                if self.arg(c, "delivery").is_some() {
                    let v = MQPROPVARIANT::UI1(self.n(pos, c, "delivery", 0) as u8);
                    props = props.with(PROPID_M_DELIVERY, v);
                }
                let queue = self.h(pos, c, "queue");
                hres(ctx.mq_send_message(queue, &props, self.transaction(pos, c)).await)
            }
            "MQReceiveMessage" => self.mq_receive(pos, c).await,
            "MQGetOverlappedResult" => {
                let Some(Arg::Str(name)) = self.arg(c, "overlapped") else {
                    self.fail(pos, "MQGetOverlappedResult needs overlapped=NAME".into())
                };
                let Some((ov, buf)) = self.st.borrow().mq_overlapped.get(name).cloned() else {
                    self.fail(pos, format!("no MQReceiveMessage used overlapped={name}"))
                };
                let hr = ctx.mq_get_overlapped_result(&ov).await;
                if hr == MQ_OK || hr == MQ_ERROR_BUFFER_OVERFLOW {
                    self.bind_mq_message(c, &buf.get());
                }
                hres(hr)
            }
            "MQBeginTransaction" => {
                let mut t = HANDLE::NULL;
                let hr = ctx.mq_begin_transaction(&mut t).await;
                if hr == MQ_OK {
                    self.bind(c, "as", Val::Handle(t));
                }
                hres(hr)
            }
            "ITransaction_Commit" => hres(ctx.itransaction_commit(self.h(pos, c, "transaction")).await),
            "ITransaction_Abort" => hres(ctx.itransaction_abort(self.h(pos, c, "transaction")).await),
            "ITransaction_Release" => hres(ctx.itransaction_release(self.h(pos, c, "transaction")).await),
            other => self.fail(pos, format!("the interpreter has no implementation of {other}")),
        }
    }

    /// MQReceiveMessage in its three forms: synchronous, with `overlapped=NAME` (and
    /// `event=E`; MQGetOverlappedResult NAME reads the result), or with `callback=THREAD`
    /// (the thread body runs on Message Queuing's thread with the outputs and `status=`
    /// set, §23.30).
    async fn mq_receive(&self, pos: Pos, c: &Call) -> i64 {
        let ctx = &self.ctx;
        let queue = self.h(pos, c, "queue");
        let timeout = self.u(pos, c, "timeout", INFINITE);
        let action = self.u(pos, c, "action", MQ_ACTION_RECEIVE);
        let size = self.n(pos, c, "size", 1024);
        if !(0..=1 << 24).contains(&size) {
            self.fail(pos, format!("MQReceiveMessage size {size} is outside 0..=16 MiB"));
        }
        let size = size as u32;
        let cursor = self.h(pos, c, "cursor");
        let transaction = self.transaction(pos, c);
        if let Some(Arg::Str(name)) = self.arg(c, "overlapped") {
            let event = self.h(pos, c, "event");
            let ov = Overlapped::new(event);
            let buf = MqMessageBuf::new();
            self.st.borrow_mut().mq_overlapped.insert(name.clone(), (ov.clone(), buf.clone()));
            let hr =
                ctx.mq_receive_message_overlapped(queue, timeout, action, size, &buf, &ov, cursor, transaction).await;
            if hr == MQ_OK || hr == MQ_ERROR_BUFFER_OVERFLOW {
                self.bind_mq_message(c, &buf.get());
            }
            return hres(hr);
        }
        if let Some(Arg::Str(body)) = self.arg(c, "callback") {
            let (file, st, prog, body, call) = (self.file.clone(), self.st.clone(), self.prog, body.clone(), c.clone());
            let callback: MqReceiveCallback = Rc::new(move |ctx, hr, _queue, _timeout, _action, m, _cursor| {
                let (file, st, body, call) = (file.clone(), st.clone(), body.clone(), call.clone());
                Box::pin(async move {
                    let f = file.clone();
                    let cx = Cx::new(ctx, file, prog, st);
                    cx.bind(&call, "status", Val::Num(hres(hr)));
                    if hr == MQ_OK || hr == MQ_ERROR_BUFFER_OVERFLOW {
                        cx.bind_mq_message(&call, &m);
                    }
                    let _ = exec(&cx, &f.programs[prog].threads[&body]).await;
                })
            });
            return hres(
                ctx.mq_receive_message_callback(queue, timeout, action, size, callback, cursor, transaction).await,
            );
        }
        let mut m = MqMessage::default();
        let hr = ctx.mq_receive_message(queue, timeout, action, size, &mut m, cursor, transaction).await;
        if hr == MQ_OK || hr == MQ_ERROR_BUFFER_OVERFLOW {
            self.bind_mq_message(c, &m);
        }
        hres(hr)
    }
}
