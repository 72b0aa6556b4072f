//! ws2_32: Winsock sockets on one host over loopback (docs/semantics.md §22). Names are
//! Winsock's own (`socket`, `recv`, `closesocket`, `wsa_startup`); int-returning calls
//! return SOCKET_ERROR (-1) on failure with the error in WSAGetLastError, which is the
//! thread's last error (the same slot as GetLastError).
//!
//! Buffers and out-parameters are Rust slices and references: a length past the buffer, a
//! missing or short address, a missing out-parameter is WSAEFAULT, as a bad pointer is on
//! Windows. A socket is a handle in the process's handle table.

use super::kernel32::{ThreadCtx, done};
use crate::kernel::request::{Api, Reply, Request, Value};
use crate::trace::Ret;
use crate::types::*;

/// The int a Winsock call returns.
fn int_of(r: &Reply, api: Api) -> i32 {
    match r.ret(api.ret_kind()) {
        Ret::Long(v) => v as i32,
        _ => SOCKET_ERROR,
    }
}

impl ThreadCtx {
    async fn call_int(&self, req: Request) -> (i32, Reply) {
        let api = req.api();
        let r = self.call(req).await;
        (int_of(&r, api), r)
    }

    /// WSAStartup (learn.microsoft.com/en-us/windows/win32/api/winsock/nf-winsock-wsastartup):
    /// 0 and the version to use (2.2, or the lower one asked for) in `lp_wsa_data`; a
    /// major version 0 returns WSAVERNOTSUPPORTED. The error is the return value. Each call
    /// needs its WSACleanup (§22.1).
    pub async fn wsa_startup(&self, w_version_requested: u16, lp_wsa_data: Option<&mut WSADATA>) -> i32 {
        let r = self.call(Request::WSAStartup { version: w_version_requested }).await;
        if let Some(e) = r.status.last_error().filter(|_| !r.status.succeeded()) {
            return e.0 as i32;
        }
        match done(r) {
            Some(Value::Out(v)) => {
                if let Some(d) = lp_wsa_data {
                    *d = WSADATA { wVersion: v as u16, wHighVersion: MAKEWORD(2, 2) };
                }
                0
            }
            Some(v) => {
                self.mismatch(Api::WSAStartup, &v);
                SOCKET_ERROR
            }
            None => SOCKET_ERROR,
        }
    }

    /// WSACleanup (learn.microsoft.com/en-us/windows/win32/api/winsock/nf-winsock-wsacleanup):
    /// the last call closes the process's sockets; without WSAStartup, WSANOTINITIALISED.
    pub async fn wsa_cleanup(&self) -> i32 {
        self.call_int(Request::WSACleanup {}).await.0
    }

    /// WSAGetLastError: the thread's last error (GetLastError's slot); not a kernel call.
    pub fn wsa_get_last_error(&self) -> i32 {
        self.get_last_error().0 as i32
    }

    /// WSASetLastError: sets the thread's last error; not a kernel call.
    pub fn wsa_set_last_error(&self, i_error: i32) {
        self.set_last_error(i_error as u32);
    }

    /// socket (learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-socket):
    /// AF_INET with SOCK_STREAM (TCP) or SOCK_DGRAM (UDP); protocol 0 or the type's own.
    /// WSAEAFNOSUPPORT, WSAESOCKTNOSUPPORT, WSAEPROTONOSUPPORT, WSAEPROTOTYPE for the rest
    /// (AF_INET6 ends the run as Unsupported). The handle is inheritable (§22.2).
    pub async fn socket(&self, af: i32, ty: i32, protocol: i32) -> SOCKET {
        self.call_handle(Request::socket { af, ty, protocol, flags: 0 }).await
    }

    /// WSASocket (learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsasocketw),
    /// without a protocol-info structure and with group 0: `socket` plus dwFlags;
    /// WSA_FLAG_NO_HANDLE_INHERIT makes the handle non-inheritable.
    pub async fn wsa_socket(&self, af: i32, ty: i32, protocol: i32, dw_flags: u32) -> SOCKET {
        self.call_handle(Request::WSASocket { af, ty, protocol, flags: dw_flags }).await
    }

    /// bind (learn.microsoft.com/en-us/windows/win32/api/winsock/nf-winsock-bind): port 0
    /// picks the next free ephemeral port (49152 up); an address in use fails with
    /// WSAEADDRINUSE or WSAEACCES as SO_REUSEADDR / SO_EXCLUSIVEADDRUSE decide (§22.3).
    pub async fn bind(&self, s: SOCKET, name: Option<&SOCKADDR_IN>, namelen: i32) -> i32 {
        self.call_int(Request::bind { s, name: name.copied(), namelen }).await.0
    }

    /// listen (learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-listen).
    pub async fn listen(&self, s: SOCKET, backlog: i32) -> i32 {
        self.call_int(Request::listen { s, backlog }).await.0
    }

    /// accept (learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-accept):
    /// the oldest completed connection; blocks until one comes (WSAEWOULDBLOCK when
    /// non-blocking). `addr` receives the peer's address; `*addrlen` below 16 is WSAEFAULT.
    pub async fn accept(&self, s: SOCKET, addr: Option<&mut SOCKADDR_IN>, addrlen: Option<&mut i32>) -> SOCKET {
        let len = match (&addr, &addrlen) {
            (Some(_), None) => Some(-1),
            (_, l) => l.as_ref().map(|l| **l),
        };
        let r = self.call(Request::accept { s, addrlen: len }).await;
        match done(r) {
            Some(Value::Accept(h, a)) => {
                if let Some(out) = addr {
                    *out = a;
                }
                if let Some(l) = addrlen {
                    *l = SOCKADDR_IN_LEN;
                }
                h
            }
            Some(v) => {
                self.mismatch(Api::accept, &v);
                INVALID_SOCKET
            }
            None => INVALID_SOCKET,
        }
    }

    /// connect (learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-connect):
    /// 0 once a loopback listener took the connection (before any accept); WSAECONNREFUSED
    /// after `Config::connect_refusal_ms` (2 s) of retries when nobody listens;
    /// WSAETIMEDOUT after `Config::connect_timeout_ms` for an address off this host;
    /// WSAEWOULDBLOCK when non-blocking (§§22.6-22.8). UDP: sets the default peer.
    pub async fn connect(&self, s: SOCKET, name: Option<&SOCKADDR_IN>, namelen: i32) -> i32 {
        self.call_int(Request::connect { s, name: name.copied(), namelen }).await.0
    }

    async fn recv_inner(&self, s: SOCKET, buf: &mut [u8], len: i32, flags: i32, from: bool) -> (i32, Reply) {
        let len = if len < 0 || len as usize > buf.len() { -1 } else { len };
        let (n, r) = self.call_int(Request::recv { s, len, flags, from }).await;
        if let Value::Recv(d, _) = &r.value {
            // A datagram too long for the buffer fills it (WSAEMSGSIZE, §22.25).
            buf[..d.len()].copy_from_slice(d);
        }
        (n, r)
    }

    /// recv (learn.microsoft.com/en-us/windows/win32/api/winsock/nf-winsock-recv): the
    /// bytes available, at most `len` (how many of them is the scheduler's choice: a recv
    /// may return part of what was sent, or several sends at once); 0 after the peer's
    /// FIN, every time; a zero `len` returns 0 without consuming anything; blocks while
    /// nothing is available (WSAEWOULDBLOCK when non-blocking). Flags: 0 or MSG_PEEK.
    pub async fn recv(&self, s: SOCKET, buf: &mut [u8], len: i32, flags: i32) -> i32 {
        self.recv_inner(s, buf, len, flags, false).await.0
    }

    /// recvfrom (learn.microsoft.com/en-us/windows/win32/api/winsock/nf-winsock-recvfrom):
    /// recv with the source address. A datagram longer than `len` fills the buffer and
    /// fails with WSAEMSGSIZE; the rest is lost (§22.25).
    pub async fn recvfrom(
        &self,
        s: SOCKET,
        buf: &mut [u8],
        len: i32,
        flags: i32,
        from: Option<&mut SOCKADDR_IN>,
        fromlen: Option<&mut i32>,
    ) -> i32 {
        let short = from.is_some() && fromlen.as_ref().is_none_or(|l| **l < SOCKADDR_IN_LEN);
        let len = if short { -1 } else { len };
        let (n, r) = self.recv_inner(s, buf, len, flags, true).await;
        if let Value::Recv(_, Some(a)) = r.value {
            if let Some(out) = from {
                *out = a;
            }
            if let Some(l) = fromlen {
                *l = SOCKADDR_IN_LEN;
            }
        }
        n
    }

    /// send (learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-send): all
    /// `len` bytes, readable by the peer at once; a blocking send returns when they fit the
    /// peer's SO_RCVBUF plus this socket's SO_SNDBUF, a non-blocking one takes what fits
    /// (WSAEWOULDBLOCK when nothing does). After shutdown(SD_SEND): WSAESHUTDOWN.
    pub async fn send(&self, s: SOCKET, buf: &[u8], len: i32, flags: i32) -> i32 {
        self.sendto(s, buf, len, flags, None, 0).await
    }

    /// sendto (learn.microsoft.com/en-us/windows/win32/api/winsock/nf-winsock-sendto): a
    /// UDP datagram, whole, to `to` (or the connected peer); dropped silently when nobody
    /// is bound there (the sender's next recvfrom then fails with WSAECONNRESET) or the
    /// receiver's buffer is full.
    pub async fn sendto(
        &self,
        s: SOCKET,
        buf: &[u8],
        len: i32,
        flags: i32,
        to: Option<&SOCKADDR_IN>,
        tolen: i32,
    ) -> i32 {
        let ok = len >= 0 && len as usize <= buf.len();
        let data = if ok { buf[..len as usize].to_vec() } else { Vec::new() };
        let len = if ok { len } else { -1 };
        self.call_int(Request::send {
            args: Box::new(crate::kernel::request::boxed::send { s, data, len, flags, to: to.copied(), tolen }),
        })
        .await
        .0
    }

    /// shutdown (learn.microsoft.com/en-us/windows/win32/api/winsock/nf-winsock-shutdown):
    /// SD_SEND sends the FIN (the peer's recv returns 0 after the data), SD_RECEIVE makes
    /// this socket's recv fail with WSAESHUTDOWN, SD_BOTH both (§§22.16-22.18).
    pub async fn shutdown(&self, s: SOCKET, how: i32) -> i32 {
        self.call_int(Request::shutdown { s, how }).await.0
    }

    /// closesocket (learn.microsoft.com/en-us/windows/win32/api/winsock/nf-winsock-closesocket):
    /// closes the handle; the last one closes the socket, gracefully, or with a reset when
    /// bytes were left unread or SO_LINGER is {1, 0} (the peer's recv then fails with
    /// WSAECONNRESET). A handle that is not a socket: WSAENOTSOCK (§§22.4, 22.15, 22.20).
    pub async fn closesocket(&self, s: SOCKET) -> i32 {
        self.call_int(Request::closesocket { s }).await.0
    }

    async fn name_call(&self, req: Request, name: Option<&mut SOCKADDR_IN>, namelen: Option<&mut i32>) -> i32 {
        let (n, r) = self.call_int(req).await;
        if let Some(Value::SockName(a)) = done(r) {
            if let Some(out) = name {
                *out = a;
            }
            if let Some(l) = namelen {
                *l = SOCKADDR_IN_LEN;
            }
        }
        n
    }

    /// getsockname (learn.microsoft.com/en-us/windows/win32/api/winsock/nf-winsock-getsockname):
    /// the bound address; WSAEINVAL when unbound.
    pub async fn getsockname(&self, s: SOCKET, name: Option<&mut SOCKADDR_IN>, namelen: Option<&mut i32>) -> i32 {
        let len = if name.is_some() { namelen.as_ref().map_or(-1, |l| **l) } else { -1 };
        self.name_call(Request::getsockname { s, namelen: len }, name, namelen).await
    }

    /// getpeername (learn.microsoft.com/en-us/windows/win32/api/winsock/nf-winsock-getpeername):
    /// the peer's address; WSAENOTCONN when not connected.
    pub async fn getpeername(&self, s: SOCKET, name: Option<&mut SOCKADDR_IN>, namelen: Option<&mut i32>) -> i32 {
        let len = if name.is_some() { namelen.as_ref().map_or(-1, |l| **l) } else { -1 };
        self.name_call(Request::getpeername { s, namelen: len }, name, namelen).await
    }

    /// setsockopt (learn.microsoft.com/en-us/windows/win32/api/winsock/nf-winsock-setsockopt):
    /// `optval` holds the little-endian int (or LINGER) Windows reads; fewer than 4 bytes is
    /// WSAEFAULT. SO_REUSEADDR, SO_EXCLUSIVEADDRUSE, SO_LINGER, SO_DONTLINGER, SO_RCVBUF,
    /// SO_SNDBUF, SO_RCVTIMEO, SO_SNDTIMEO, SO_KEEPALIVE, TCP_NODELAY.
    pub async fn setsockopt(&self, s: SOCKET, level: i32, optname: i32, optval: Option<&[u8]>, optlen: i32) -> i32 {
        let optval = optval.map(|v| v[..v.len().min(optlen.max(0) as usize)].to_vec());
        self.call_int(Request::setsockopt {
            args: Box::new(crate::kernel::request::boxed::setsockopt { s, level, optname, optval, optlen }),
        })
        .await
        .0
    }

    /// getsockopt (learn.microsoft.com/en-us/windows/win32/api/winsock/nf-winsock-getsockopt):
    /// writes the 4-byte little-endian value to `optval` and 4 to `*optlen`; SO_ERROR is
    /// not cleared by reading it.
    pub async fn getsockopt(
        &self,
        s: SOCKET,
        level: i32,
        optname: i32,
        optval: Option<&mut [u8]>,
        optlen: Option<&mut i32>,
    ) -> i32 {
        let len = match (&optval, &optlen) {
            (Some(v), Some(l)) => (**l).min(v.len() as i32),
            _ => -1,
        };
        let (n, r) = self.call_int(Request::getsockopt { s, level, optname, optlen: len }).await;
        if let Some(Value::Out(v)) = done(r)
            && let (Some(out), Some(l)) = (optval, optlen)
        {
            out[..4].copy_from_slice(&v.to_le_bytes());
            *l = 4;
        }
        n
    }

    /// ioctlsocket (learn.microsoft.com/en-us/windows/win32/api/winsock/nf-winsock-ioctlsocket):
    /// FIONBIO (`*argp` non-zero: non-blocking) and FIONREAD (`*argp` receives the unread
    /// bytes).
    pub async fn ioctlsocket(&self, s: SOCKET, cmd: i32, argp: Option<&mut u32>) -> i32 {
        let arg = argp.as_ref().map(|a| **a);
        let (n, r) = self.call_int(Request::ioctlsocket { s, cmd, arg }).await;
        if let (Some(Value::Out(v)), Some(out)) = (done(r), argp) {
            *out = v;
        }
        n
    }

    /// select (learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-select):
    /// `nfds` is ignored, as on Windows. Each set is reduced to its ready sockets (read:
    /// data, end of stream, a reset, a connection to accept, a closed socket; write: room to
    /// send, a reset, UDP always; except: a refused non-blocking connect) and the count is
    /// returned; with nothing ready it waits up to `timeout` (None: forever) and returns 0,
    /// the sets emptied. All sets empty or None: WSAEINVAL; a handle that is not a socket:
    /// WSAENOTSOCK, the sets unchanged (§22.26).
    pub async fn select(
        &self,
        _nfds: i32,
        readfds: Option<&mut fd_set>,
        writefds: Option<&mut fd_set>,
        exceptfds: Option<&mut fd_set>,
        timeout: Option<&TIMEVAL>,
    ) -> i32 {
        let timeout_ms = match timeout {
            None => INFINITE,
            Some(t) => {
                let ms = i64::from(t.tv_sec.max(0)) * 1000 + (i64::from(t.tv_usec.max(0)) + 999) / 1000;
                ms.min(i64::from(INFINITE - 1)) as u32
            }
        };
        let req = Request::select {
            args: Box::new(crate::kernel::request::boxed::select {
                readfds: readfds.as_ref().map(|s| s.fd_array.clone()),
                writefds: writefds.as_ref().map(|s| s.fd_array.clone()),
                exceptfds: exceptfds.as_ref().map(|s| s.fd_array.clone()),
                timeout_ms,
            }),
        };
        let (n, r) = self.call_int(req).await;
        if let Some(Value::Select(sets)) = done(r) {
            let [rd, wr, ex] = *sets;
            for (set, ready) in [(readfds, rd), (writefds, wr), (exceptfds, ex)] {
                if let Some(set) = set {
                    set.fd_array = ready;
                }
            }
        }
        n
    }

    /// WSAPoll (learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsapoll):
    /// sets each entry's `revents` (POLLRDNORM, POLLWRNORM as asked; POLLHUP and POLLERR
    /// always; POLLNVAL for a handle that is not a socket) and returns how many entries
    /// have any; waits up to `timeout` ms (negative: forever). `fds` 0 is WSAEINVAL, more
    /// than the array WSAEFAULT; asking for other bits than POLLRDNORM, POLLRDBAND and
    /// POLLWRNORM is WSAEINVAL; every handle invalid is WSAENOTSOCK (§22.27).
    pub async fn wsa_poll(&self, fd_array: &mut [WSAPOLLFD], fds: u32, timeout: i32) -> i32 {
        if fds as usize > fd_array.len() {
            self.set_last_error(crate::error::WSAEFAULT);
            return SOCKET_ERROR;
        }
        let entries: Vec<(HANDLE, i16)> = fd_array[..fds as usize].iter().map(|f| (f.fd, f.events)).collect();
        let (n, r) = self.call_int(Request::WSAPoll { fds: entries, timeout }).await;
        if let Some(Value::Poll(rev)) = done(r) {
            for (f, r) in fd_array.iter_mut().zip(rev) {
                f.revents = r;
            }
        }
        n
    }

    /// WSAEventSelect (learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsaeventselect):
    /// records the FD_ events of `l_network_events` on the socket and sets `h_event_object`
    /// when one is recorded; clears the record; makes the socket non-blocking; mask 0
    /// cancels. An event is recorded when its condition holds and it is enabled; recording
    /// disables it until the re-enabling call (recv: FD_READ; accept: FD_ACCEPT; a send
    /// that fails with WSAEWOULDBLOCK: FD_WRITE); FD_CONNECT and FD_CLOSE are recorded
    /// once (§22.28).
    pub async fn wsa_event_select(&self, s: SOCKET, h_event_object: HANDLE, l_network_events: i32) -> i32 {
        let req = Request::WSAEventSelect { s, event: h_event_object, mask: l_network_events as u32 };
        self.call_int(req).await.0
    }

    /// WSAEnumNetworkEvents (learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsaenumnetworkevents):
    /// the recorded events (then cleared) with the error codes of FD_CONNECT and FD_CLOSE;
    /// resets `h_event_object` when it is not NULL.
    pub async fn wsa_enum_network_events(
        &self,
        s: SOCKET,
        h_event_object: HANDLE,
        lp_network_events: &mut WSANETWORKEVENTS,
    ) -> i32 {
        let (n, r) = self.call_int(Request::WSAEnumNetworkEvents { s, event: h_event_object }).await;
        if let Some(Value::NetworkEvents(ev, errs)) = done(r) {
            lp_network_events.lNetworkEvents = ev as i32;
            for (o, e) in lp_network_events.iErrorCode.iter_mut().zip(*errs) {
                *o = e as i32;
            }
        }
        n
    }

    /// WSACreateEvent: a manual-reset, nonsignalled, unnamed event (CreateEvent).
    pub async fn wsa_create_event(&self) -> HANDLE {
        self.create_event(None, true, false, None).await
    }

    /// WSACloseEvent: CloseHandle of the event.
    pub async fn wsa_close_event(&self, h_event: HANDLE) -> BOOL {
        self.close_handle(h_event).await
    }

    /// WSASetEvent: SetEvent.
    pub async fn wsa_set_event(&self, h_event: HANDLE) -> BOOL {
        self.set_event(h_event).await
    }

    /// WSAResetEvent: ResetEvent.
    pub async fn wsa_reset_event(&self, h_event: HANDLE) -> BOOL {
        self.reset_event(h_event).await
    }

    /// WSAWaitForMultipleEvents (learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsawaitformultipleevents):
    /// WaitForMultipleObjectsEx: WSA_WAIT_EVENT_0 + i, WSA_WAIT_TIMEOUT, WSA_WAIT_FAILED.
    pub async fn wsa_wait_for_multiple_events(
        &self,
        events: &[HANDLE],
        wait_all: bool,
        timeout: u32,
        alertable: bool,
    ) -> u32 {
        self.wait_for_multiple_objects_ex(events, wait_all, timeout, alertable).await
    }
}
