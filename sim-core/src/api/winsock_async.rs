//! Overlapped Winsock (docs/semantics.md §§22.40-22.44): WSARecv, WSARecvFrom, WSASend,
//! WSASendTo with an OVERLAPPED (its hEvent, the socket's completion port) or a completion
//! routine (an APC run in an alertable wait of the issuing thread), WSAGetOverlappedResult,
//! and the Microsoft extensions AcceptEx, GetAcceptExSockaddrs, ConnectEx and DisconnectEx
//! as direct calls (no WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) is needed).
//!
//! One WSABUF per call: `lp_buffers` is that buffer (dwBufferCount 1). Receive buffers are
//! [`IoBuffer`]s because an overlapped receive writes them when it completes.

use super::kernel32::{ThreadCtx, bool_of};
use super::overlapped::{IoBuffer, LPWSAOVERLAPPED_COMPLETION_ROUTINE, Overlapped};
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

/// The bytes a call reported at once (or, for a blocking call, with its wake-up).
fn bytes_of(r: &Reply) -> Option<(u32, Option<SOCKADDR_IN>)> {
    match &r.value {
        Value::WsaBytes(n, from) => Some((*n, *from)),
        Value::Recv(d, from) => Some((d.len() as u32, *from)),
        Value::Long(n) => Some(((*n).max(0) as u32, None)),
        _ => None,
    }
}

impl ThreadCtx {
    /// WSARecv (learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsarecv)
    /// with one WSABUF: 0 when it completes at once (`*lp_number_of_bytes_recvd` set, the
    /// bytes in `lp_buffers`); with an OVERLAPPED, SOCKET_ERROR and WSA_IO_PENDING while it
    /// runs: the bytes reach the buffer, the OVERLAPPED, its event (the socket when it has
    /// none) and the socket's completion port hear of the completion, and the completion
    /// routine, if any, is queued to this thread as an APC (hEvent is then free for the
    /// caller). A completion at once also queues a packet to the port (unless
    /// FILE_SKIP_COMPLETION_PORT_ON_SUCCESS) and the routine. Without an OVERLAPPED, recv.
    /// `*lp_flags` is set to 0 (no MSG_PARTIAL).
    #[allow(clippy::too_many_arguments)]
    pub async fn wsa_recv(
        &self,
        s: SOCKET,
        lp_buffers: &IoBuffer,
        lp_number_of_bytes_recvd: Option<&mut u32>,
        lp_flags: &mut u32,
        lp_overlapped: Option<&Overlapped>,
        lp_completion_routine: Option<LPWSAOVERLAPPED_COMPLETION_ROUTINE>,
    ) -> i32 {
        let req = Request::WSARecv {
            args: Box::new(crate::kernel::request::boxed::WSARecv {
                s,
                len: u32::try_from(lp_buffers.len()).unwrap_or(u32::MAX),
                flags: *lp_flags,
                overlapped: lp_overlapped.cloned(),
                buffer: Some(lp_buffers.clone()),
                routine: lp_completion_routine,
            }),
        };
        let r = self.call(req).await;
        self.wsa_recv_done(&r, lp_buffers, lp_number_of_bytes_recvd, lp_flags, None, None);
        int_of(&r, Api::WSARecv)
    }

    /// WSARecvFrom (learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsarecvfrom):
    /// WSARecv with the source address (filled for a completion at once). A datagram
    /// longer than the buffer fills it and fails with WSAEMSGSIZE.
    #[allow(clippy::too_many_arguments)]
    pub async fn wsa_recv_from(
        &self,
        s: SOCKET,
        lp_buffers: &IoBuffer,
        lp_number_of_bytes_recvd: Option<&mut u32>,
        lp_flags: &mut u32,
        lp_from: Option<&mut SOCKADDR_IN>,
        lp_fromlen: Option<&mut i32>,
        lp_overlapped: Option<&Overlapped>,
        lp_completion_routine: Option<LPWSAOVERLAPPED_COMPLETION_ROUTINE>,
    ) -> i32 {
        let req = Request::WSARecvFrom {
            args: Box::new(crate::kernel::request::boxed::WSARecvFrom {
                s,
                len: u32::try_from(lp_buffers.len()).unwrap_or(u32::MAX),
                flags: *lp_flags,
                overlapped: lp_overlapped.cloned(),
                buffer: Some(lp_buffers.clone()),
                routine: lp_completion_routine,
            }),
        };
        let r = self.call(req).await;
        self.wsa_recv_done(&r, lp_buffers, lp_number_of_bytes_recvd, lp_flags, lp_from, lp_fromlen);
        int_of(&r, Api::WSARecvFrom)
    }

    fn wsa_recv_done(
        &self,
        r: &Reply,
        buf: &IoBuffer,
        bytes: Option<&mut u32>,
        flags: &mut u32,
        from: Option<&mut SOCKADDR_IN>,
        fromlen: Option<&mut i32>,
    ) {
        if let Value::Recv(d, _) = &r.value {
            // A blocking call woken with its bytes.
            let mut b = buf.data.borrow_mut();
            let n = d.len().min(b.len());
            b[..n].copy_from_slice(&d[..n]);
        }
        if let Some((n, src)) = bytes_of(r) {
            if let Some(out) = bytes {
                *out = n;
            }
            *flags = 0;
            if let (Some(a), Some(out)) = (src, from) {
                *out = a;
                if let Some(l) = fromlen {
                    *l = SOCKADDR_IN_LEN;
                }
            }
        }
    }

    /// WSASend (learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsasend)
    /// with one WSABUF: 0 when the bytes fit at once; with an OVERLAPPED, SOCKET_ERROR and
    /// WSA_IO_PENDING until the peer has read enough (the bytes are queued and readable
    /// at once, as for send).
    pub async fn wsa_send(
        &self,
        s: SOCKET,
        lp_buffers: &[u8],
        lp_number_of_bytes_sent: Option<&mut u32>,
        dw_flags: u32,
        lp_overlapped: Option<&Overlapped>,
        lp_completion_routine: Option<LPWSAOVERLAPPED_COMPLETION_ROUTINE>,
    ) -> i32 {
        self.wsa_send_to(
            s,
            lp_buffers,
            lp_number_of_bytes_sent,
            dw_flags,
            None,
            0,
            lp_overlapped,
            lp_completion_routine,
        )
        .await
    }

    /// WSASendTo (learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsasendto):
    /// WSASend with a destination (UDP); traced as WSASend with its `to`.
    #[allow(clippy::too_many_arguments)]
    pub async fn wsa_send_to(
        &self,
        s: SOCKET,
        lp_buffers: &[u8],
        lp_number_of_bytes_sent: Option<&mut u32>,
        dw_flags: u32,
        lp_to: Option<&SOCKADDR_IN>,
        i_tolen: i32,
        lp_overlapped: Option<&Overlapped>,
        lp_completion_routine: Option<LPWSAOVERLAPPED_COMPLETION_ROUTINE>,
    ) -> i32 {
        let req = Request::WSASend {
            args: Box::new(crate::kernel::request::boxed::WSASend {
                s,
                data: lp_buffers.to_vec(),
                flags: dw_flags,
                to: lp_to.copied(),
                tolen: i_tolen,
                overlapped: lp_overlapped.cloned(),
                routine: lp_completion_routine,
            }),
        };
        let r = self.call(req).await;
        if let (Some((n, _)), Some(out)) = (bytes_of(&r).filter(|_| r.status.succeeded()), lp_number_of_bytes_sent) {
            *out = n;
        }
        int_of(&r, Api::WSASend)
    }

    /// WSAGetOverlappedResult (learn.microsoft.com/en-us/windows/win32/api/winsock2/nf-winsock2-wsagetoverlappedresult):
    /// TRUE with the bytes for a completed operation; FALSE with its Winsock error
    /// (WSAECONNRESET where GetOverlappedResult says ERROR_NETNAME_DELETED) and its bytes
    /// for a failed one; WSA_IO_INCOMPLETE while it runs unless `f_wait`, which waits on
    /// the OVERLAPPED's event (the socket when it has none). A handle that is not a socket
    /// is WSAENOTSOCK. `*lpdw_flags` is 0.
    pub async fn wsa_get_overlapped_result(
        &self,
        s: SOCKET,
        lp_overlapped: &Overlapped,
        lpcb_transfer: &mut u32,
        f_wait: bool,
        lpdw_flags: &mut u32,
    ) -> BOOL {
        let r = self.call(Request::WSAGetOverlappedResult { s, overlapped: lp_overlapped.clone(), wait: f_wait }).await;
        if let Value::Out(n) = r.value {
            *lpcb_transfer = n;
            *lpdw_flags = 0;
        }
        bool_of(&r)
    }

    /// AcceptEx (learn.microsoft.com/en-us/windows/win32/api/mswsock/nf-mswsock-acceptex):
    /// accepts a connection on `s_listen_socket` into the unbound, unconnected
    /// `s_accept_socket` (its handle then refers to the connection). The first
    /// `dw_receive_data_length` bytes of `lp_output_buffer` receive the first data (with a
    /// length above 0 it completes only once data came), followed by the local and the
    /// remote address in their reserved sizes (each at least 16 bytes more than
    /// sizeof(SOCKADDR_IN); read them with `get_accept_ex_sockaddrs`). TRUE at once, or
    /// FALSE with ERROR_IO_PENDING; the completion goes to the listening socket's OVERLAPPED
    /// and port. getpeername on the new connection needs SO_UPDATE_ACCEPT_CONTEXT first.
    #[allow(clippy::too_many_arguments)]
    pub async fn accept_ex(
        &self,
        s_listen_socket: SOCKET,
        s_accept_socket: SOCKET,
        lp_output_buffer: Option<&IoBuffer>,
        dw_receive_data_length: u32,
        dw_local_address_length: u32,
        dw_remote_address_length: u32,
        lpdw_bytes_received: Option<&mut u32>,
        lp_overlapped: Option<&Overlapped>,
    ) -> BOOL {
        let req = Request::AcceptEx {
            args: Box::new(crate::kernel::request::boxed::AcceptEx {
                listen: s_listen_socket,
                accept: s_accept_socket,
                recv_len: dw_receive_data_length,
                local_len: dw_local_address_length,
                remote_len: dw_remote_address_length,
                overlapped: lp_overlapped.cloned(),
                buffer: lp_output_buffer.cloned(),
            }),
        };
        let r = self.call(req).await;
        if let (true, Some((n, _)), Some(out)) = (r.status.succeeded(), bytes_of(&r), lpdw_bytes_received) {
            *out = n;
        }
        bool_of(&r)
    }

    /// GetAcceptExSockaddrs (learn.microsoft.com/en-us/windows/win32/api/mswsock/nf-mswsock-getacceptexsockaddrs):
    /// the local and remote addresses AcceptEx wrote into its buffer. Not a kernel call.
    pub fn get_accept_ex_sockaddrs(
        &self,
        lp_output_buffer: &IoBuffer,
        dw_receive_data_length: u32,
        dw_local_address_length: u32,
        dw_remote_address_length: u32,
        local_sockaddr: &mut SOCKADDR_IN,
        remote_sockaddr: &mut SOCKADDR_IN,
    ) {
        let b = lp_output_buffer.to_vec();
        let at = dw_receive_data_length as usize;
        if dw_local_address_length >= 16
            && let Some(a) = b.get(at..).and_then(crate::objects::socket_async::sockaddr_from_bytes)
        {
            *local_sockaddr = a;
        }
        let at = at + dw_local_address_length as usize;
        if dw_remote_address_length >= 16
            && let Some(a) = b.get(at..).and_then(crate::objects::socket_async::sockaddr_from_bytes)
        {
            *remote_sockaddr = a;
        }
    }

    /// ConnectEx (learn.microsoft.com/en-us/windows/win32/api/mswsock/nc-mswsock-lpfn_connectex):
    /// connects a bound, unconnected TCP socket (unbound: WSAEINVAL; no OVERLAPPED:
    /// ERROR_INVALID_PARAMETER) and sends `lp_send_buffer` once connected. FALSE with
    /// ERROR_IO_PENDING: the outcome is the completion's (a refusal is
    /// ERROR_CONNECTION_REFUSED for GetOverlappedResult, WSAECONNREFUSED for
    /// WSAGetOverlappedResult; an unreachable host times out in virtual time).
    pub async fn connect_ex(
        &self,
        s: SOCKET,
        name: Option<&SOCKADDR_IN>,
        namelen: i32,
        lp_send_buffer: Option<&[u8]>,
        lpdw_bytes_sent: Option<&mut u32>,
        lp_overlapped: Option<&Overlapped>,
    ) -> BOOL {
        let req = Request::ConnectEx {
            args: Box::new(crate::kernel::request::boxed::ConnectEx {
                s,
                name: name.copied(),
                namelen,
                data: lp_send_buffer.map(<[u8]>::to_vec).unwrap_or_default(),
                overlapped: lp_overlapped.cloned(),
            }),
        };
        let r = self.call(req).await;
        if let (true, Some((n, _)), Some(out)) = (r.status.succeeded(), bytes_of(&r), lpdw_bytes_sent) {
            *out = n;
        }
        bool_of(&r)
    }

    /// DisconnectEx (learn.microsoft.com/en-us/windows/win32/api/mswsock/nc-mswsock-lpfn_disconnectex):
    /// closes the sending side gracefully (the peer reads 0 after the data; this socket can
    /// still receive); TF_REUSE_SOCKET makes the socket new again for AcceptEx or
    /// ConnectEx. An unconnected socket is WSAENOTCONN; `dw_reserved` must be 0
    /// (WSAEINVAL).
    pub async fn disconnect_ex(
        &self,
        s: SOCKET,
        lp_overlapped: Option<&Overlapped>,
        dw_flags: u32,
        dw_reserved: u32,
    ) -> BOOL {
        // A reserved value other than 0 is a bad flag to the kernel (WSAEINVAL).
        let flags = if dw_reserved != 0 { dw_flags | 0x8000_0000 } else { dw_flags };
        bool_of(&self.call(Request::DisconnectEx { s, overlapped: lp_overlapped.cloned(), flags }).await)
    }
}
