//! Message Queuing (mqrt.dll): private queues, messages, cursors and internal
//! transactions (docs/semantics.md §23). Every function returns the HRESULT the C API
//! returns and leaves the thread's last error alone; out-parameters are `&mut` arguments
//! or, for the message properties MQReceiveMessage fills in, an [`MqMessage`].
//!
//! Handles (QUEUEHANDLE, cursor HANDLE, ITransaction*) are values in the process handle
//! table: process exit closes them, and a transaction left open aborts (§23.23).

use super::kernel32::ThreadCtx;
use crate::api::Overlapped;
use crate::kernel::request::{Request, Value};
use crate::mq::*;
use crate::types::{HANDLE, INFINITE};

impl ThreadCtx {
    async fn mq_call(&self, req: Request) -> (HRESULT, Value) {
        let api = req.api();
        let r = self.call(req).await;
        let h = match &r.value {
            Value::Hresult(h)
            | Value::MqHandle(h, _)
            | Value::MqFormatName(h, ..)
            | Value::MqQueueProps(h, _)
            | Value::MqReceived(h, _) => *h,
            v => {
                self.mismatch(api, v);
                MQ_ERROR_INVALID_PARAMETER
            }
        };
        (h, r.value)
    }

    async fn mq_hr(&self, req: Request) -> HRESULT {
        self.mq_call(req).await.0
    }

    async fn mq_handle(&self, req: Request, out: &mut HANDLE) -> HRESULT {
        let (h, v) = self.mq_call(req).await;
        if let Value::MqHandle(_, handle) = v
            && h.succeeded()
        {
            *out = handle;
        }
        h
    }

    async fn mq_format_name(&self, req: Request, format_name: &mut String, len: &mut u32) -> HRESULT {
        let (h, v) = self.mq_call(req).await;
        if let Value::MqFormatName(_, name, need) = v {
            if h == MQ_OK {
                *format_name = name.into();
            }
            *len = need;
        }
        h
    }

    /// MQCreateQueue (learn.microsoft.com/en-us/previous-versions/windows/embedded/ms895108(v=msdn.10)):
    /// creates the private queue named by PROPID_Q_PATHNAME (`.\private$\NAME`,
    /// case-insensitive) with PROPID_Q_LABEL, PROPID_Q_TRANSACTION, PROPID_Q_QUOTA,
    /// PROPID_Q_JOURNAL. `format_name_len` is the buffer length in characters on input and
    /// the format name's length with its null on output; a buffer too small still creates
    /// the queue and returns MQ_INFORMATION_FORMATNAME_BUFFER_TOO_SMALL (§§23.1-23.6).
    /// The security descriptor is not modelled (always the default).
    pub async fn mq_create_queue(
        &self,
        queue_props: &MQQUEUEPROPS,
        format_name: &mut String,
        format_name_len: &mut u32,
    ) -> HRESULT {
        let req = Request::MQCreateQueue { props: queue_props.clone(), format_name_len: *format_name_len };
        self.mq_format_name(req, format_name, format_name_len).await
    }

    /// MQDeleteQueue: deletes the queue a format name names (§23.8).
    pub async fn mq_delete_queue(&self, format_name: &str) -> HRESULT {
        self.mq_hr(Request::MQDeleteQueue { format_name: format_name.into() }).await
    }

    /// MQPathNameToFormatName: the private format name of an existing local queue
    /// (`PRIVATE=<guid>\<number>`, 54 characters with the null), or
    /// MQ_ERROR_FORMATNAME_BUFFER_TOO_SMALL with the length needed (§23.7).
    pub async fn mq_path_name_to_format_name(
        &self,
        path_name: &str,
        format_name: &mut String,
        count: &mut u32,
    ) -> HRESULT {
        let req = Request::MQPathNameToFormatName { path_name: path_name.into(), format_name_len: *count };
        self.mq_format_name(req, format_name, count).await
    }

    /// MQOpenQueue: a queue handle with MQ_RECEIVE_ACCESS, MQ_SEND_ACCESS or
    /// MQ_PEEK_ACCESS and MQ_DENY_NONE or MQ_DENY_RECEIVE_SHARE (§§23.9, 23.11). Format
    /// names: `PRIVATE=...`, `DIRECT=OS:.\private$\NAME`, and the dead-letter queues'
    /// [`MQ_DEADLETTER_FORMAT_NAME`] and [`MQ_DEADXACT_FORMAT_NAME`].
    pub async fn mq_open_queue(&self, format_name: &str, access: u32, share_mode: u32, queue: &mut HANDLE) -> HRESULT {
        let req = Request::MQOpenQueue { format_name: format_name.into(), access, share_mode };
        self.mq_handle(req, queue).await
    }

    /// MQCloseQueue: closes a queue handle; receives pending through it end with
    /// MQ_ERROR_OPERATION_CANCELLED (§23.9).
    pub async fn mq_close_queue(&self, queue: HANDLE) -> HRESULT {
        self.mq_hr(Request::MQCloseQueue { queue }).await
    }

    /// MQGetQueueProperties: PROPID_Q_PATHNAME, PROPID_Q_LABEL, PROPID_Q_TRANSACTION,
    /// PROPID_Q_QUOTA and PROPID_Q_JOURNAL of the queue a format name names (§23.9).
    pub async fn mq_get_queue_properties(&self, format_name: &str, queue_props: &mut MQQUEUEPROPS) -> HRESULT {
        let (h, v) = self.mq_call(Request::MQGetQueueProperties { format_name: format_name.into() }).await;
        if let Value::MqQueueProps(_, p) = v
            && h == MQ_OK
        {
            *queue_props = p;
        }
        h
    }

    /// MQPurgeQueue: removes every message (the handle needs MQ_RECEIVE_ACCESS, §23.18).
    pub async fn mq_purge_queue(&self, queue: HANDLE) -> HRESULT {
        self.mq_hr(Request::MQPurgeQueue { queue }).await
    }

    /// MQCreateCursor: a cursor on a queue handle, not yet at the first message (§23.13).
    pub async fn mq_create_cursor(&self, queue: HANDLE, cursor: &mut HANDLE) -> HRESULT {
        self.mq_handle(Request::MQCreateCursor { queue }, cursor).await
    }

    /// MQCloseCursor (§23.13).
    pub async fn mq_close_cursor(&self, cursor: HANDLE) -> HRESULT {
        self.mq_hr(Request::MQCloseCursor { cursor }).await
    }

    /// MQSendMessage (learn.microsoft.com/en-us/previous-versions/windows/desktop/msmq/ms711382(v=vs.85)):
    /// sends a message built from PROPID_M_BODY, PROPID_M_LABEL,
    /// PROPID_M_PRIORITY (0-7), PROPID_M_CORRELATIONID, PROPID_M_RESP_QUEUE,
    /// PROPID_M_APPSPECIFIC, PROPID_M_TIME_TO_REACH_QUEUE, PROPID_M_TIME_TO_BE_RECEIVED,
    /// PROPID_M_JOURNAL and PROPID_M_DELIVERY. `transaction` is NULL, MQ_SINGLE_MESSAGE,
    /// MQ_MTS_TRANSACTION (no COM+ context: no transaction) or a handle from
    /// `mq_begin_transaction` (§§23.10, 23.19, 23.20, 23.24).
    pub async fn mq_send_message(&self, queue: HANDLE, message_props: &MQMSGPROPS, transaction: HANDLE) -> HRESULT {
        self.mq_hr(Request::MQSendMessage { queue, props: message_props.clone(), transaction }).await
    }

    /// MQReceiveMessage (learn.microsoft.com/en-us/previous-versions/windows/desktop/msmq/ms699825(v=vs.85)),
    /// synchronous form (lpOverlapped and fnReceiveCallback NULL):
    /// MQ_ACTION_RECEIVE, MQ_ACTION_PEEK_CURRENT or MQ_ACTION_PEEK_NEXT, at the cursor or
    /// (without one) at the front; `timeout_ms` 0, a virtual-time time-out or INFINITE
    /// (MQ_ERROR_IO_TIMEOUT). `body_capacity` is the PROPID_M_BODY buffer size: a larger
    /// body gives MQ_ERROR_BUFFER_OVERFLOW, leaves the message in place and returns its
    /// PROPID_M_BODY_SIZE in `message` (§§23.12-23.18). `transaction` is NULL or a handle
    /// from `mq_begin_transaction` (§23.20). The message's properties are written to
    /// `message` when the call returns MQ_OK or MQ_ERROR_BUFFER_OVERFLOW.
    #[allow(clippy::too_many_arguments)]
    pub async fn mq_receive_message(
        &self,
        queue: HANDLE,
        timeout_ms: u32,
        action: u32,
        body_capacity: u32,
        message: &mut MqMessage,
        cursor: HANDLE,
        transaction: HANDLE,
    ) -> HRESULT {
        let req = receive_request(queue, timeout_ms, action, body_capacity, cursor, transaction, None);
        let (h, v) = self.mq_call(req).await;
        if let Value::MqReceived(_, Some(m)) = v {
            *message = *m;
        }
        h
    }

    /// MQBeginTransaction: a new internal transaction (an ITransaction, here a handle)
    /// (§23.20).
    pub async fn mq_begin_transaction(&self, transaction: &mut HANDLE) -> HRESULT {
        self.mq_handle(Request::MQBeginTransaction {}, transaction).await
    }

    /// ITransaction::Commit(FALSE, 0, 0): the transaction's sends become visible, in order,
    /// and the messages it received leave their queues (§23.21). XACT_E_NOTRANSACTION for
    /// a transaction already ended.
    pub async fn itransaction_commit(&self, transaction: HANDLE) -> HRESULT {
        self.mq_hr(Request::ITransactionCommit { transaction }).await
    }

    /// ITransaction::Abort(NULL, FALSE, FALSE): the sends are dropped and every message it
    /// received returns to its place with PROPID_M_ABORT_COUNT incremented (§23.22).
    pub async fn itransaction_abort(&self, transaction: HANDLE) -> HRESULT {
        self.mq_hr(Request::ITransactionAbort { transaction }).await
    }

    /// ITransaction::Release: drops the reference; a transaction still active aborts
    /// (§23.23).
    pub async fn itransaction_release(&self, transaction: HANDLE) -> HRESULT {
        self.mq_hr(Request::ITransactionRelease { transaction }).await
    }

    /// MQReceiveMessage with an OVERLAPPED
    /// (learn.microsoft.com/en-us/previous-versions/windows/desktop/msmq/ms699825(v=vs.85);
    /// Asynchronous Reading, ms701332): a message there at once is read and MQ_OK returned
    /// (the event is set and, when the queue handle is associated with a completion port,
    /// a packet queued, as for any I/O that completes at once); otherwise the call returns
    /// MQ_INFORMATION_OPERATION_PENDING and the receive waits in the queue. Its completion
    /// (a message, MQ_ERROR_IO_TIMEOUT at the virtual-time time-out, MQ_ERROR_BUFFER_OVERFLOW,
    /// MQ_ERROR_OPERATION_CANCELLED when the queue handle closes or the process exits)
    /// writes the message's properties to `message`, the HRESULT into the OVERLAPPED's
    /// Internal member (read it with [`ThreadCtx::mq_get_overlapped_result`]), sets hEvent
    /// and queues the completion packet (§§23.27-23.31). `transaction` must be NULL
    /// (MQ_ERROR_TRANSACTION_USAGE otherwise, §23.28).
    #[allow(clippy::too_many_arguments)]
    pub async fn mq_receive_message_overlapped(
        &self,
        queue: HANDLE,
        timeout_ms: u32,
        action: u32,
        body_capacity: u32,
        message: &MqMessageBuf,
        overlapped: &Overlapped,
        cursor: HANDLE,
        transaction: HANDLE,
    ) -> HRESULT {
        let asynchronous =
            Some(MqAsyncReceive { overlapped: overlapped.clone(), message: message.clone(), callback: false });
        let req = receive_request(queue, timeout_ms, action, body_capacity, cursor, transaction, asynchronous);
        self.mq_hr(req).await
    }

    /// MQReceiveMessage with a callback (fnReceiveCallback; Asynchronous Reading, ms701332:
    /// "the function is called if a message is immediately available, when a message
    /// arrives, or when the time for reading a message expires"). The call returns
    /// MQ_INFORMATION_OPERATION_PENDING unless the arguments are refused at once (bad
    /// handle, access, action, cursor, a transaction), and the callback runs with the
    /// result on a thread Message Queuing starts in the calling process for the receive,
    /// never on the calling thread (§23.30). The receive is otherwise the overlapped form's
    /// (time-out, cancellation at MQCloseQueue and process exit).
    #[allow(clippy::too_many_arguments)]
    pub async fn mq_receive_message_callback(
        &self,
        queue: HANDLE,
        timeout_ms: u32,
        action: u32,
        body_capacity: u32,
        callback: MqReceiveCallback,
        cursor: HANDLE,
        transaction: HANDLE,
    ) -> HRESULT {
        // Message Queuing's own event and OVERLAPPED for the receive [inferred: how mqrt
        // waits is not documented; the event is a handle of the process].
        let event = self.create_event(None, true, false, None).await;
        if event.is_null() {
            return MQ_ERROR_INSUFFICIENT_RESOURCES;
        }
        let overlapped = Overlapped::new(event);
        let message = MqMessageBuf::new();
        let asynchronous =
            Some(MqAsyncReceive { overlapped: overlapped.clone(), message: message.clone(), callback: true });
        let req = receive_request(queue, timeout_ms, action, body_capacity, cursor, transaction, asynchronous);
        let h = self.mq_hr(req).await;
        if h != MQ_INFORMATION_OPERATION_PENDING {
            let _ = self.close_handle(event).await;
            return h;
        }
        let thread = self
            .create_thread(
                None,
                0,
                move |ctx: ThreadCtx| async move {
                    let _ = ctx.wait_for_single_object(event, INFINITE).await;
                    let status = ctx.mq_get_overlapped_result(&overlapped).await;
                    callback(ctx.clone(), status, queue, timeout_ms, action, message.get(), cursor).await;
                    let _ = ctx.close_handle(event).await;
                    0
                },
                0,
                None,
            )
            .await;
        if thread.is_null() {
            // [inferred] No thread for the callback: the receive stays pending, unreported.
            return MQ_ERROR_INSUFFICIENT_RESOURCES;
        }
        let _ = self.close_handle(thread).await;
        h
    }

    /// MQGetOverlappedResult
    /// (learn.microsoft.com/en-us/previous-versions/windows/desktop/msmq/ms705323(v=vs.85)):
    /// the Message Queuing success or error code in the OVERLAPPED's Internal member, after
    /// its event was set or its completion packet taken (§23.27).
    pub async fn mq_get_overlapped_result(&self, overlapped: &Overlapped) -> HRESULT {
        self.mq_hr(Request::MQGetOverlappedResult { overlapped: overlapped.clone() }).await
    }
}

/// MQReceiveMessage's request (its parameters boxed: `Request::MQReceiveMessage`), for the
/// synchronous, overlapped and callback forms alike.
fn receive_request(
    queue: HANDLE,
    timeout_ms: u32,
    action: u32,
    body_capacity: u32,
    cursor: HANDLE,
    transaction: HANDLE,
    asynchronous: Option<MqAsyncReceive>,
) -> Request {
    let args = crate::kernel::request::boxed::MQReceiveMessage {
        queue,
        timeout_ms,
        action,
        body_capacity,
        cursor,
        transaction,
        asynchronous,
    };
    Request::MQReceiveMessage { args: Box::new(args) }
}
