//! kernel32's file functions on the in-memory volume (docs/semantics.md §28):
//! SetFilePointer(Ex), SetEndOfFile, GetFileSize(Ex), GetFileType, DeleteFile,
//! CreateDirectory, RemoveDirectory. CreateFile, ReadFile, WriteFile and FlushFileBuffers
//! on a path of the volume are the same `ThreadCtx` methods as for pipes (kernel32.rs).

use super::kernel32::{ThreadCtx, bool_of, done};
use crate::error::*;
use crate::kernel::request::{Api, Request, Value};
use crate::types::*;

impl ThreadCtx {
    /// SetFilePointer (learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-setfilepointer):
    /// moves the file pointer of a volume file by `distance_to_move` (a signed 32-bit
    /// distance, or the signed 64-bit `*distance_to_move_high:distance_to_move` when
    /// `distance_to_move_high` is given, which then receives the high part of the new
    /// pointer) from FILE_BEGIN, FILE_CURRENT or FILE_END. Returns the low part of the new
    /// pointer; INVALID_SET_FILE_POINTER with ERROR_NEGATIVE_SEEK before the start of the
    /// file (the pointer stays), ERROR_INVALID_PARAMETER for another method,
    /// ERROR_INVALID_HANDLE (§28.17). A success whose low part is INVALID_SET_FILE_POINTER
    /// sets the last error to 0. A pointer past the end of file is allowed.
    #[must_use]
    pub async fn set_file_pointer(
        &self,
        h_file: HANDLE,
        distance_to_move: i32,
        distance_to_move_high: Option<&mut i32>,
        move_method: u32,
    ) -> u32 {
        let (distance, high) = match &distance_to_move_high {
            Some(h) => ((i64::from(**h) << 32) | i64::from(distance_to_move as u32), true),
            None => (i64::from(distance_to_move), false),
        };
        let req = Request::SetFilePointer { handle: h_file, distance, high, method: move_method };
        let r = self.call(req).await;
        match done(r) {
            Some(Value::FilePos(p)) => {
                if let Some(h) = distance_to_move_high {
                    *h = (p >> 32) as i32;
                }
                p as u32
            }
            Some(v) => {
                self.mismatch(Api::SetFilePointer, &v);
                INVALID_SET_FILE_POINTER
            }
            None => INVALID_SET_FILE_POINTER,
        }
    }

    /// SetFilePointerEx (learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-setfilepointerex):
    /// SetFilePointer with a 64-bit distance; the new pointer goes to `new_file_pointer`
    /// (§28.17).
    #[must_use]
    pub async fn set_file_pointer_ex(
        &self,
        h_file: HANDLE,
        distance_to_move: i64,
        new_file_pointer: Option<&mut i64>,
        move_method: u32,
    ) -> BOOL {
        let req = Request::SetFilePointerEx { handle: h_file, distance: distance_to_move, method: move_method };
        self.call_pos(Api::SetFilePointerEx, req, new_file_pointer).await
    }

    async fn call_pos(&self, api: Api, req: Request, out: Option<&mut i64>) -> BOOL {
        let r = self.call(req).await;
        let ok = bool_of(&r);
        match done(r) {
            Some(Value::FilePos(p)) => {
                if let Some(out) = out {
                    *out = p as i64;
                }
            }
            Some(v) => self.mismatch(api, &v),
            None => {}
        }
        ok
    }

    /// SetEndOfFile (learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-setendoffile):
    /// the file ends at the file pointer: truncated, or extended with zeros. FALSE with
    /// ERROR_ACCESS_DENIED without write access, ERROR_USER_MAPPED_FILE when a section of
    /// the file would lose pages, ERROR_DISK_FULL past the volume's capacity (§28.15).
    #[must_use]
    pub async fn set_end_of_file(&self, h_file: HANDLE) -> BOOL {
        bool_of(&self.call(Request::SetEndOfFile { handle: h_file }).await)
    }

    /// GetFileSize (learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-getfilesize):
    /// the low part of the size; the high part to `file_size_high`. INVALID_FILE_SIZE on
    /// failure (a success with that low part sets the last error to 0, §28.18).
    #[must_use]
    pub async fn get_file_size(&self, h_file: HANDLE, file_size_high: Option<&mut u32>) -> u32 {
        match done(self.call(Request::GetFileSize { handle: h_file }).await) {
            Some(Value::FilePos(p)) => {
                if let Some(h) = file_size_high {
                    *h = (p >> 32) as u32;
                }
                p as u32
            }
            Some(v) => {
                self.mismatch(Api::GetFileSize, &v);
                INVALID_FILE_SIZE
            }
            None => INVALID_FILE_SIZE,
        }
    }

    /// GetFileSizeEx (learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-getfilesizeex):
    /// the size, to `file_size` (§28.18).
    #[must_use]
    pub async fn get_file_size_ex(&self, h_file: HANDLE, file_size: Option<&mut i64>) -> BOOL {
        self.call_pos(Api::GetFileSizeEx, Request::GetFileSizeEx { handle: h_file }, file_size).await
    }

    /// GetFileType (learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-getfiletype):
    /// FILE_TYPE_DISK for a volume file, FILE_TYPE_PIPE for a pipe or a socket,
    /// FILE_TYPE_UNKNOWN otherwise (last error 0 for a mailslot, ERROR_INVALID_HANDLE for
    /// a handle that is no file, §28.22).
    pub async fn get_file_type(&self, h_file: HANDLE) -> u32 {
        match done(self.call(Request::GetFileType { handle: h_file }).await) {
            Some(Value::U32(t)) => t,
            Some(v) => {
                self.mismatch(Api::GetFileType, &v);
                FILE_TYPE_UNKNOWN
            }
            None => FILE_TYPE_UNKNOWN,
        }
    }

    /// DeleteFile (learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-deletefilew):
    /// deletes a volume file: at once when no handle is open on it, else when the last
    /// one closes, meanwhile every open fails with ERROR_ACCESS_DENIED (delete pending).
    /// FALSE with ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND, ERROR_SHARING_VIOLATION
    /// when an open handle does not share delete, ERROR_ACCESS_DENIED for a directory or a
    /// file already pending deletion (§28.12).
    #[must_use]
    pub async fn delete_file(&self, file_name: &str) -> BOOL {
        bool_of(&self.call(Request::DeleteFile { name: Some(file_name.to_string()) }).await)
    }

    /// CreateDirectory (learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-createdirectoryw):
    /// FALSE with ERROR_ALREADY_EXISTS when the name exists, ERROR_PATH_NOT_FOUND when its
    /// parent does not (§28.3).
    #[must_use]
    pub async fn create_directory(&self, path_name: &str, security_attributes: Option<&SECURITY_ATTRIBUTES>) -> BOOL {
        let req = Request::CreateDirectory {
            name: Some(path_name.to_string()),
            inherit: security_attributes.is_some_and(|s| s.bInheritHandle),
        };
        bool_of(&self.call(req).await)
    }

    /// RemoveDirectory (learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-removedirectoryw):
    /// FALSE with ERROR_DIR_NOT_EMPTY, ERROR_DIRECTORY for a file, ERROR_FILE_NOT_FOUND
    /// (§28.3).
    #[must_use]
    pub async fn remove_directory(&self, path_name: &str) -> BOOL {
        bool_of(&self.call(Request::RemoveDirectory { name: Some(path_name.to_string()) }).await)
    }
}

/// `HFILE`: OpenFile's file handle, a handle value in an int.
pub type HFILE = i32;
/// `HFILE_ERROR`: OpenFile's failure value.
pub const HFILE_ERROR: HFILE = -1;
/// `OFS_MAXPATHNAME`: the size of `OFSTRUCT::szPathName`, with its null.
pub const OFS_MAXPATHNAME: usize = 128;
/// `sizeof(OFSTRUCT)`: what a successful OpenFile puts in `cBytes`.
pub const OFSTRUCT_SIZE: u8 = 136;
/// `OF_READ`.
pub const OF_READ: u32 = 0x0000;
/// `OF_WRITE`.
pub const OF_WRITE: u32 = 0x0001;
/// `OF_READWRITE`.
pub const OF_READWRITE: u32 = 0x0002;
/// `OF_SHARE_COMPAT`.
pub const OF_SHARE_COMPAT: u32 = 0x0000;
/// `OF_SHARE_EXCLUSIVE`.
pub const OF_SHARE_EXCLUSIVE: u32 = 0x0010;
/// `OF_SHARE_DENY_WRITE`.
pub const OF_SHARE_DENY_WRITE: u32 = 0x0020;
/// `OF_SHARE_DENY_READ`.
pub const OF_SHARE_DENY_READ: u32 = 0x0030;
/// `OF_SHARE_DENY_NONE`.
pub const OF_SHARE_DENY_NONE: u32 = 0x0040;
/// `OF_PARSE` (not modelled: ends the run as Unsupported).
pub const OF_PARSE: u32 = 0x0100;
/// `OF_DELETE`.
pub const OF_DELETE: u32 = 0x0200;
/// `OF_VERIFY` (not modelled).
pub const OF_VERIFY: u32 = 0x0400;
/// `OF_CANCEL` (a dialog-box option: not modelled).
pub const OF_CANCEL: u32 = 0x0800;
/// `OF_CREATE`.
pub const OF_CREATE: u32 = 0x1000;
/// `OF_PROMPT` (a dialog box: not modelled).
pub const OF_PROMPT: u32 = 0x2000;
/// `OF_EXIST`.
pub const OF_EXIST: u32 = 0x4000;
/// `OF_REOPEN`.
pub const OF_REOPEN: u32 = 0x8000;

/// `OFSTRUCT`: what OpenFile reports about the file it opened. `szPathName` is the full
/// path (at most `OFS_MAXPATHNAME - 1` characters).
#[allow(non_snake_case)]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OFSTRUCT {
    /// `sizeof(OFSTRUCT)` after a success.
    pub cBytes: u8,
    /// Nonzero for a fixed disk (the volume is one).
    pub fFixedDisk: u8,
    /// The error code when OpenFile fails (0 after a success).
    pub nErrCode: u16,
    /// The file's full path.
    pub szPathName: String,
}

impl ThreadCtx {
    /// OpenFile (learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-openfile),
    /// the 16-bit-era file API over CreateFile (docs/semantics.md §28.24): OF_READ,
    /// OF_WRITE, OF_READWRITE as GENERIC_READ/WRITE; the OF_SHARE_* modes as share modes
    /// (OF_SHARE_EXCLUSIVE none, OF_SHARE_DENY_WRITE read, OF_SHARE_DENY_READ write,
    /// OF_SHARE_DENY_NONE and OF_SHARE_COMPAT both [inferred for compat]); OF_CREATE creates
    /// or truncates (CREATE_ALWAYS), otherwise the file must exist; OF_EXIST opens and
    /// closes it and returns 1; OF_DELETE deletes it and returns 1; OF_REOPEN takes the path
    /// from `reopen_buff`. A success fills `reopen_buff` (cBytes 136, nErrCode 0, the full
    /// path); a failure returns HFILE_ERROR with the error in the last error and nErrCode,
    /// leaving the rest of the structure as it was. A full path of 128 characters or more
    /// fails with ERROR_FILENAME_EXCED_RANGE. OF_PARSE, OF_VERIFY, OF_PROMPT and OF_CANCEL
    /// end the run as Unsupported.
    #[must_use]
    pub async fn open_file(&self, file_name: &str, reopen_buff: &mut OFSTRUCT, style: u32) -> HFILE {
        if style & (OF_PARSE | OF_VERIFY | OF_PROMPT | OF_CANCEL) != 0 {
            let detail =
                format!("OpenFile style 0x{style:x}: OF_PARSE, OF_VERIFY, OF_PROMPT and OF_CANCEL are not modelled");
            self.kernel.borrow_mut().unsupported("OpenFile", &detail);
            return HFILE_ERROR;
        }
        let name = if style & OF_REOPEN != 0 { reopen_buff.szPathName.clone() } else { file_name.to_string() };
        let fail = |ctx: &ThreadCtx, ofs: &mut OFSTRUCT, e: Win32Error| {
            ctx.set_last_error(e);
            ofs.nErrCode = e.0 as u16;
            HFILE_ERROR
        };
        // The full path, as OpenFile reports it (the volume's current directory is C:\).
        let full = match crate::objects::file::parse_path(&name) {
            Ok(p) => p.display(),
            Err(_) => name.clone(),
        };
        if full.chars().count() >= OFS_MAXPATHNAME {
            return fail(self, reopen_buff, ERROR_FILENAME_EXCED_RANGE);
        }
        let succeed = |ofs: &mut OFSTRUCT| {
            *ofs = OFSTRUCT { cBytes: OFSTRUCT_SIZE, fFixedDisk: 1, nErrCode: 0, szPathName: full.clone() };
        };
        if style & OF_DELETE != 0 {
            if self.delete_file(&name).await == FALSE {
                let e = self.get_last_error();
                return fail(self, reopen_buff, e);
            }
            succeed(reopen_buff);
            return 1;
        }
        let access = match style & 0x3 {
            OF_READ => GENERIC_READ,
            OF_WRITE => GENERIC_WRITE,
            _ => GENERIC_READ | GENERIC_WRITE,
        };
        let share = match style & 0x70 {
            OF_SHARE_EXCLUSIVE => 0,
            OF_SHARE_DENY_WRITE => FILE_SHARE_READ,
            OF_SHARE_DENY_READ => FILE_SHARE_WRITE,
            _ => FILE_SHARE_READ | FILE_SHARE_WRITE,
        };
        let disposition = if style & OF_CREATE != 0 { CREATE_ALWAYS } else { OPEN_EXISTING };
        let h = self.create_file(&name, access, share, None, disposition, FILE_ATTRIBUTE_NORMAL, HANDLE::NULL).await;
        if h == INVALID_HANDLE_VALUE {
            let e = self.get_last_error();
            return fail(self, reopen_buff, e);
        }
        succeed(reopen_buff);
        if style & OF_EXIST != 0 {
            let _ = self.close_handle(h).await;
            return 1;
        }
        h.0 as HFILE
    }
}
