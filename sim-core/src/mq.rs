//! Message Queuing (MSMQ) names and values: the HRESULTs of mq.h, the access and share
//! modes, receive actions, property identifiers, and the Rust-shaped property structures
//! the `ThreadCtx::mq_*` calls take (docs/semantics.md §23).
//!
//! Message Queuing functions return an HRESULT and never set the thread's last error; in
//! winsim their trace lines show the HRESULT as the return value.

use crate::types::HANDLE;

/// Message Queuing returns the one winerror.h `HRESULT` type (a LONG); mq.h's values are
/// constants of it, named by [`mq_name`].
pub use crate::error::HRESULT;

macro_rules! hresults {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        $( $(#[$doc])* pub const $name: HRESULT = HRESULT($value as u32 as i32); )*
        /// The mq.h name of an HRESULT, if it is one of Message Queuing's.
        pub fn mq_name(h: HRESULT) -> Option<&'static str> {
            match h.0 as u32 {
                $( v if v == $value as u32 => Some(stringify!($name)), )*
                _ => None,
            }
        }
        /// The HRESULT an mq.h name stands for (`MQ_ERROR_IO_TIMEOUT`), for scenario files.
        pub fn mq_from_name(name: &str) -> Option<HRESULT> {
            match name {
                $( stringify!($name) => Some($name), )*
                _ => None,
            }
        }
    };
}

hresults! {
    /// Success (0).
    MQ_OK = 0;
    /// The queue already exists (MQCreateQueue).
    MQ_ERROR_QUEUE_EXISTS = 0xC00E0005;
    /// One or more properties resulted in an error.
    MQ_ERROR_PROPERTY = 0xC00E0002;
    /// The queue is not registered (MQOpenQueue, MQDeleteQueue, MQGetQueueProperties).
    MQ_ERROR_QUEUE_NOT_FOUND = 0xC00E0003;
    /// A parameter is not valid.
    MQ_ERROR_INVALID_PARAMETER = 0xC00E0006;
    /// The queue or cursor handle is not valid.
    MQ_ERROR_INVALID_HANDLE = 0xC00E0007;
    /// The operation was cancelled before it could complete (its queue handle closed).
    MQ_ERROR_OPERATION_CANCELLED = 0xC00E0008;
    /// Another process already receives from the queue in a way that excludes this open.
    MQ_ERROR_SHARING_VIOLATION = 0xC00E0009;
    /// The path name is not a valid Message Queuing path name.
    MQ_ERROR_ILLEGAL_QUEUE_PATHNAME = 0xC00E0014;
    /// A property value is not valid.
    MQ_ERROR_ILLEGAL_PROPERTY_VALUE = 0xC00E0018;
    /// A property's type indicator is not valid.
    MQ_ERROR_ILLEGAL_PROPERTY_VT = 0xC00E0019;
    /// The message body buffer is too small: nothing was read and the message stays.
    MQ_ERROR_BUFFER_OVERFLOW = 0xC00E001A;
    /// No message arrived within the time-out.
    MQ_ERROR_IO_TIMEOUT = 0xC00E001B;
    /// A cursor action that would move past the end of the queue or skip a message.
    MQ_ERROR_ILLEGAL_CURSOR_ACTION = 0xC00E001C;
    /// The message the cursor pointed at was removed from the queue.
    MQ_ERROR_MESSAGE_ALREADY_RECEIVED = 0xC00E001D;
    /// The format name is not valid.
    MQ_ERROR_ILLEGAL_FORMATNAME = 0xC00E001E;
    /// The format name buffer is too small (MQPathNameToFormatName).
    MQ_ERROR_FORMATNAME_BUFFER_TOO_SMALL = 0xC00E001F;
    /// The access rights of the queue handle do not allow the operation.
    MQ_ERROR_ACCESS_DENIED = 0xC00E0025;
    /// Not enough resources (winsim: a limit of the run was reached with
    /// `LimitAction::FailCall`).
    MQ_ERROR_INSUFFICIENT_RESOURCES = 0xC00E0027;
    /// The property identifier is not valid.
    MQ_ERROR_ILLEGAL_PROPID = 0xC00E0039;
    /// A required property (PROPID_Q_PATHNAME) is missing.
    MQ_ERROR_INSUFFICIENT_PROPERTIES = 0xC00E003F;
    /// The access mode is not supported (a share mode other than MQ_DENY_NONE with an
    /// access other than MQ_RECEIVE_ACCESS).
    MQ_ERROR_UNSUPPORTED_ACCESS_MODE = 0xC00E0045;
    /// The queue handle refers to no queue any more.
    MQ_ERROR_QUEUE_NOT_AVAILABLE = 0xC00E004B;
    /// A transactional receive from a nontransactional queue (sends no longer get it,
    /// docs/semantics.md §23.24).
    MQ_ERROR_TRANSACTION_USAGE = 0xC00E0050;
    /// The transaction is not active (already committed or aborted).
    MQ_ERROR_TRANSACTION_SEQUENCE = 0xC00E0051;
    /// The queue was deleted: messages cannot be received any more through this handle.
    MQ_ERROR_QUEUE_DELETED = 0xC00E005A;
    /// Informational: the queue was created but its format name did not fit the buffer.
    MQ_INFORMATION_FORMATNAME_BUFFER_TOO_SMALL = 0x400E0009;
    /// Informational: an asynchronous MQReceiveMessage is pending (docs/semantics.md
    /// §23.27).
    MQ_INFORMATION_OPERATION_PENDING = 0x400E0006;
    /// ITransaction::Commit/Abort on a transaction that already ended (winerror.h).
    XACT_E_NOTRANSACTION = 0x8004D00E;
}

/// An HRESULT shown by its mq.h name when it has one, else by its winerror.h name (the
/// trace's return value of a Message Queuing call: MQ_OK rather than S_OK).
pub fn mq_display(h: HRESULT) -> String {
    match mq_name(h) {
        Some(n) => n.to_string(),
        None => h.to_string(),
    }
}

// ----- MQOpenQueue ---------------------------------------------------------------------

/// dwAccess: messages can be peeked at and removed.
pub const MQ_RECEIVE_ACCESS: u32 = 0x1;
/// dwAccess: messages can be sent.
pub const MQ_SEND_ACCESS: u32 = 0x2;
/// dwAccess: messages can only be peeked at.
pub const MQ_PEEK_ACCESS: u32 = 0x20;
/// dwAccess: administrative access (not modelled: MQ_ERROR_UNSUPPORTED_ACCESS_MODE).
pub const MQ_ADMIN_ACCESS: u32 = 0x80;
/// dwShareMode: the queue is available to everyone.
pub const MQ_DENY_NONE: u32 = 0;
/// dwShareMode: only this process may receive from the queue.
pub const MQ_DENY_RECEIVE_SHARE: u32 = 1;

// ----- MQReceiveMessage ----------------------------------------------------------------

/// dwAction: read and remove the message at the cursor (or the first message).
pub const MQ_ACTION_RECEIVE: u32 = 0x0000_0000;
/// dwAction: read the message at the cursor without removing it.
pub const MQ_ACTION_PEEK_CURRENT: u32 = 0x8000_0000;
/// dwAction: move the cursor to the next message and read it without removing it.
pub const MQ_ACTION_PEEK_NEXT: u32 = 0x8000_0001;

/// pTransaction of MQSendMessage: a single-message transaction, `(ITransaction*)3`.
pub const MQ_SINGLE_MESSAGE: HANDLE = HANDLE(3);
/// pTransaction: the current COM+ transaction, `(ITransaction*)1`; winsim runs no COM+
/// context, so the message is sent outside a transaction, as documented for that case.
pub const MQ_MTS_TRANSACTION: HANDLE = HANDLE(1);
/// pTransaction: an XA transaction, `(ITransaction*)2` (not modelled: Unsupported).
pub const MQ_XA_TRANSACTION: HANDLE = HANDLE(2);
/// pTransaction: no transaction (NULL).
pub const MQ_NO_TRANSACTION: HANDLE = HANDLE(0);

// ----- properties ----------------------------------------------------------------------

/// A queue or message property identifier (QUEUEPROPID / MSGPROPID).
pub type PROPID = u32;

/// Queue property: the path name (`.\private$\NAME`), VT_LPWSTR.
pub const PROPID_Q_PATHNAME: PROPID = 103;
/// Queue property: whether the queue is transactional, VT_UI1.
pub const PROPID_Q_TRANSACTION: PROPID = 113;
/// Queue property: the maximum size of the queue in kilobytes, VT_UI4.
pub const PROPID_Q_QUOTA: PROPID = 105;
/// Queue property: the label, VT_LPWSTR (at most MQ_MAX_Q_LABEL_LEN characters).
pub const PROPID_Q_LABEL: PROPID = 108;
/// Queue property: target journaling, VT_UI1.
pub const PROPID_Q_JOURNAL: PROPID = 104;
/// Queue property: the journal quota in kilobytes, VT_UI4.
pub const PROPID_Q_JOURNAL_QUOTA: PROPID = 107;

/// Message property: the class (what happened to it), VT_UI2.
pub const PROPID_M_CLASS: PROPID = 1;
/// Message property: the message identifier (20 bytes), VT_VECTOR | VT_UI1.
pub const PROPID_M_MSGID: PROPID = 2;
/// Message property: the correlation identifier (20 bytes).
pub const PROPID_M_CORRELATIONID: PROPID = 3;
/// Message property: the priority, 0 to 7 (default 3), VT_UI1.
pub const PROPID_M_PRIORITY: PROPID = 4;
/// Message property: MQMSG_DELIVERY_EXPRESS or MQMSG_DELIVERY_RECOVERABLE, VT_UI1.
pub const PROPID_M_DELIVERY: PROPID = 5;
/// Message property: the source journaling level (MQMSG_DEADLETTER...), VT_UI1.
pub const PROPID_M_JOURNAL: PROPID = 7;
/// Message property: the body, VT_VECTOR | VT_UI1.
pub const PROPID_M_BODY: PROPID = 9;
/// Message property: the body size, VT_UI4.
pub const PROPID_M_BODY_SIZE: PROPID = 10;
/// Message property: the label, VT_LPWSTR.
pub const PROPID_M_LABEL: PROPID = 11;
/// Message property: the time-to-reach-queue in seconds, VT_UI4.
pub const PROPID_M_TIME_TO_REACH_QUEUE: PROPID = 13;
/// Message property: the time-to-be-received in seconds, VT_UI4.
pub const PROPID_M_TIME_TO_BE_RECEIVED: PROPID = 14;
/// Message property: the format name of the response queue, VT_LPWSTR.
pub const PROPID_M_RESP_QUEUE: PROPID = 15;
/// Message property: an application-specific value, VT_UI4.
pub const PROPID_M_APPSPECIFIC: PROPID = 8;

/// PROPID_M_JOURNAL: the default, no journaling.
pub const MQMSG_JOURNAL_NONE: u8 = 0;
/// PROPID_M_JOURNAL: negative source journaling (dead-letter queue on failure).
pub const MQMSG_DEADLETTER: u8 = 1;
/// PROPID_M_JOURNAL: positive source journaling (accepted; no machine journal modelled).
pub const MQMSG_JOURNAL: u8 = 2;
/// PROPID_M_DELIVERY: express (the default).
pub const MQMSG_DELIVERY_EXPRESS: u8 = 0;
/// PROPID_M_DELIVERY: recoverable.
pub const MQMSG_DELIVERY_RECOVERABLE: u8 = 1;
/// PROPID_Q_TRANSACTION: not transactional (the default).
pub const MQ_TRANSACTIONAL_NONE: u8 = 0;
/// PROPID_Q_TRANSACTION: transactional.
pub const MQ_TRANSACTIONAL: u8 = 1;
/// The default priority (MQ_PRIORITY default 3).
pub const DEFAULT_M_PRIORITY: u8 = 3;
/// The highest priority.
pub const MQ_MAX_PRIORITY: u8 = 7;
/// The longest queue label, in characters.
pub const MQ_MAX_Q_LABEL_LEN: usize = 124;
/// The longest message label, in characters.
pub const MQ_MAX_MSG_LABEL_LEN: usize = 250;
/// The class of a normal message.
pub const MQMSG_CLASS_NORMAL: u16 = 0x0000;
/// The class of a message whose time-to-be-received expired before it was received.
pub const MQMSG_CLASS_NACK_RECEIVE_TIMEOUT: u16 = 0xC002;
/// The class of a message rejected because its queue's quota was full.
pub const MQMSG_CLASS_NACK_Q_EXCEED_QUOTA: u16 = 0x8003;
/// The class of a message whose queue was purged (MQPurgeQueue).
pub const MQMSG_CLASS_NACK_Q_PURGED: u16 = 0xC001;
/// The class of a nontransactional message rejected by a transactional queue.
pub const MQMSG_CLASS_NACK_NOT_TRANSACTIONAL_Q: u16 = 0x8009;
/// The class of a transactional message rejected by a nontransactional queue.
pub const MQMSG_CLASS_NACK_NOT_TRANSACTIONAL_MSG: u16 = 0x800A;
/// The class of a message whose queue was deleted before it was received.
pub const MQMSG_CLASS_NACK_Q_DELETED: u16 = 0xC000;

/// The format name of this computer's nontransactional dead-letter queue.
pub const MQ_DEADLETTER_FORMAT_NAME: &str = "DIRECT=OS:.\\SYSTEM$;DEADLETTER";
/// The format name of this computer's transactional dead-letter queue.
pub const MQ_DEADXACT_FORMAT_NAME: &str = "DIRECT=OS:.\\SYSTEM$;DEADXACT";

/// One property value (MQPROPVARIANT): the type indicator and the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MQPROPVARIANT {
    /// VT_UI1 (bVal).
    UI1(u8),
    /// VT_UI2 (uiVal).
    UI2(u16),
    /// VT_UI4 (ulVal).
    UI4(u32),
    /// VT_LPWSTR (pwszVal).
    LPWSTR(String),
    /// VT_VECTOR | VT_UI1 (caub).
    Bytes(Vec<u8>),
    /// VT_NULL.
    Null,
}

/// MQQUEUEPROPS: property identifiers with their values, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MQQUEUEPROPS {
    /// aPropID and aPropVar.
    pub props: Vec<(PROPID, MQPROPVARIANT)>,
}

impl MQQUEUEPROPS {
    /// The properties of a queue named `path_name` (PROPID_Q_PATHNAME).
    pub fn path(path_name: &str) -> MQQUEUEPROPS {
        MQQUEUEPROPS { props: vec![(PROPID_Q_PATHNAME, MQPROPVARIANT::LPWSTR(path_name.into()))] }
    }
    /// Adds a property.
    pub fn with(mut self, id: PROPID, v: MQPROPVARIANT) -> MQQUEUEPROPS {
        self.props.push((id, v));
        self
    }
    /// Adds PROPID_Q_TRANSACTION = MQ_TRANSACTIONAL.
    pub fn transactional(self) -> MQQUEUEPROPS {
        self.with(PROPID_Q_TRANSACTION, MQPROPVARIANT::UI1(MQ_TRANSACTIONAL))
    }
}

/// MQMSGPROPS for MQSendMessage: property identifiers with their values, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MQMSGPROPS {
    /// aPropID and aPropVar.
    pub props: Vec<(PROPID, MQPROPVARIANT)>,
}

impl MQMSGPROPS {
    /// A message with this body (PROPID_M_BODY).
    pub fn body(body: &[u8]) -> MQMSGPROPS {
        MQMSGPROPS { props: vec![(PROPID_M_BODY, MQPROPVARIANT::Bytes(body.to_vec()))] }
    }
    /// Adds a property.
    pub fn with(mut self, id: PROPID, v: MQPROPVARIANT) -> MQMSGPROPS {
        self.props.push((id, v));
        self
    }
    /// Adds PROPID_M_PRIORITY.
    pub fn priority(self, p: u8) -> MQMSGPROPS {
        self.with(PROPID_M_PRIORITY, MQPROPVARIANT::UI1(p))
    }
    /// Adds PROPID_M_LABEL.
    pub fn label(self, l: &str) -> MQMSGPROPS {
        self.with(PROPID_M_LABEL, MQPROPVARIANT::LPWSTR(l.into()))
    }
    /// Adds PROPID_M_CORRELATIONID (padded or cut to 20 bytes).
    pub fn correlation_id(self, id: &[u8]) -> MQMSGPROPS {
        let mut v = id.to_vec();
        v.resize(20, 0);
        self.with(PROPID_M_CORRELATIONID, MQPROPVARIANT::Bytes(v))
    }
    /// Adds PROPID_M_RESP_QUEUE (a format name).
    pub fn response_queue(self, format_name: &str) -> MQMSGPROPS {
        self.with(PROPID_M_RESP_QUEUE, MQPROPVARIANT::LPWSTR(format_name.into()))
    }
    /// Adds PROPID_M_APPSPECIFIC.
    pub fn app_specific(self, v: u32) -> MQMSGPROPS {
        self.with(PROPID_M_APPSPECIFIC, MQPROPVARIANT::UI4(v))
    }
    /// Adds PROPID_M_TIME_TO_BE_RECEIVED (seconds).
    pub fn time_to_be_received(self, seconds: u32) -> MQMSGPROPS {
        self.with(PROPID_M_TIME_TO_BE_RECEIVED, MQPROPVARIANT::UI4(seconds))
    }
    /// Adds PROPID_M_JOURNAL.
    pub fn journal(self, level: u8) -> MQMSGPROPS {
        self.with(PROPID_M_JOURNAL, MQPROPVARIANT::UI1(level))
    }
}

/// A message as MQReceiveMessage returns its properties (every property winsim models;
/// the body only when the buffer was large enough).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MqMessage {
    /// PROPID_M_MSGID: 16-byte GUID of the sending queue manager and a 4-byte sequence.
    pub msg_id: Vec<u8>,
    /// PROPID_M_BODY (empty when the body buffer was too small).
    pub body: Vec<u8>,
    /// PROPID_M_BODY_SIZE: the size of the body (also on MQ_ERROR_BUFFER_OVERFLOW).
    pub body_size: u32,
    /// PROPID_M_LABEL.
    pub label: String,
    /// PROPID_M_PRIORITY (0 for every transactional message).
    pub priority: u8,
    /// PROPID_M_CORRELATIONID (20 bytes).
    pub correlation_id: Vec<u8>,
    /// PROPID_M_RESP_QUEUE (empty when none).
    pub response_queue: String,
    /// PROPID_M_APPSPECIFIC.
    pub app_specific: u32,
    /// PROPID_M_CLASS (MQMSG_CLASS_NORMAL, or the reason it is in a dead-letter queue).
    pub class: u16,
    /// PROPID_M_ABORT_COUNT: transactions aborted on it since it was placed in its queue.
    pub abort_count: u32,
    /// PROPID_M_JOURNAL as sent.
    pub journal: u8,
    /// PROPID_M_DELIVERY as sent.
    pub delivery: u8,
}

// ----- Asynchronous MQReceiveMessage (docs/semantics.md §§23.27-23.33) ------------------

/// The message properties of an asynchronous MQReceiveMessage: the MQMSGPROPS the queue
/// manager fills when the receive completes (caller memory on Windows, a shared record
/// here, as [`crate::api::IoBuffer`] is for ReadFile). Cloning gives the same record.
#[derive(Clone, Debug, Default)]
pub struct MqMessageBuf {
    pub(crate) data: std::rc::Rc<std::cell::RefCell<MqMessage>>,
}

impl MqMessageBuf {
    /// An empty record.
    pub fn new() -> MqMessageBuf {
        MqMessageBuf::default()
    }

    /// A copy of the properties written so far.
    pub fn get(&self) -> MqMessage {
        self.data.borrow().clone()
    }

    /// Whether two values are the same record.
    pub fn same(&self, other: &MqMessageBuf) -> bool {
        std::rc::Rc::ptr_eq(&self.data, &other.data)
    }
}

/// A receive callback (PMQRECEIVECALLBACK): called with the receive's HRESULT, the queue
/// handle, dwTimeout, dwAction, the message's properties, the OVERLAPPED (None here: the
/// callback form has none of the caller's) and the cursor handle, on a thread of
/// Message Queuing's in the receiving process (§23.30).
#[allow(clippy::type_complexity)]
pub type MqReceiveCallback = std::rc::Rc<
    dyn Fn(
        crate::api::ThreadCtx,
        HRESULT,
        HANDLE,
        u32,
        u32,
        MqMessage,
        HANDLE,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
>;

/// How an MQReceiveMessage call is asynchronous, as the kernel sees it.
#[derive(Clone, Debug)]
pub struct MqAsyncReceive {
    /// The OVERLAPPED the completion is written to (the callback form uses one of
    /// Message Queuing's own).
    pub overlapped: crate::api::Overlapped,
    /// Where the message's properties go.
    pub message: MqMessageBuf,
    /// The callback form: every result of the read itself, even one known at once, is
    /// delivered as a completion, and the call returns MQ_INFORMATION_OPERATION_PENDING.
    pub callback: bool,
}
