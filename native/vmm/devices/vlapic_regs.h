// Local APIC register offsets and bit fields (Intel SDM vol. 3, table 11-1 and 11-6),
// shared by the vlapic and its tests. xAPIC offsets; the x2APIC MSR is 0x800 + offset/16.
#pragma once

#include <cstdint>

namespace tsvirt::vmm::apic {

constexpr uint32_t kId = 0x020;
constexpr uint32_t kVer = 0x030;
constexpr uint32_t kTpr = 0x080;
constexpr uint32_t kApr = 0x090;
constexpr uint32_t kPpr = 0x0A0;
constexpr uint32_t kEoi = 0x0B0;
constexpr uint32_t kRrd = 0x0C0;
constexpr uint32_t kLdr = 0x0D0;
constexpr uint32_t kDfr = 0x0E0;
constexpr uint32_t kSvr = 0x0F0;
constexpr uint32_t kIsr0 = 0x100;
constexpr uint32_t kTmr0 = 0x180;
constexpr uint32_t kIrr0 = 0x200;
constexpr uint32_t kEsr = 0x280;
constexpr uint32_t kLvtCmci = 0x2F0;
constexpr uint32_t kIcrLo = 0x300;
constexpr uint32_t kIcrHi = 0x310;
constexpr uint32_t kLvtTimer = 0x320;
constexpr uint32_t kLvtThermal = 0x330;
constexpr uint32_t kLvtPmc = 0x340;
constexpr uint32_t kLvtLint0 = 0x350;
constexpr uint32_t kLvtLint1 = 0x360;
constexpr uint32_t kLvtError = 0x370;
constexpr uint32_t kTimerIcr = 0x380;
constexpr uint32_t kTimerCcr = 0x390;
constexpr uint32_t kTimerDcr = 0x3E0;
constexpr uint32_t kSelfIpi = 0x3F0;  // x2APIC only

constexpr uint32_t kMsrX2apicFirst = 0x800;
constexpr uint32_t kMsrX2apicLast = 0x8FF;

// SVR
constexpr uint32_t kSvrEnable = 1u << 8;
constexpr uint32_t kSvrFocus = 1u << 9;
// LVT
constexpr uint32_t kLvtVector = 0xFF;
constexpr uint32_t kLvtDelModeShift = 8;
constexpr uint32_t kLvtDelMode = 7u << 8;
constexpr uint32_t kLvtDelivStatus = 1u << 12;
constexpr uint32_t kLvtPolarity = 1u << 13;
constexpr uint32_t kLvtRemoteIrr = 1u << 14;
constexpr uint32_t kLvtTrigger = 1u << 15;
constexpr uint32_t kLvtMasked = 1u << 16;
constexpr uint32_t kLvtTimerModeShift = 17;
constexpr uint32_t kTimerOneShot = 0;
constexpr uint32_t kTimerPeriodic = 1;
constexpr uint32_t kTimerTscDeadline = 2;
// ICR
constexpr uint32_t kIcrDestLogical = 1u << 11;
constexpr uint32_t kIcrLevelAssert = 1u << 14;
constexpr uint32_t kIcrTriggerLevel = 1u << 15;
constexpr uint32_t kIcrShorthandShift = 18;
// ESR
constexpr uint32_t kEsrSendIllegalVector = 1u << 5;
constexpr uint32_t kEsrRecvIllegalVector = 1u << 6;
constexpr uint32_t kEsrIllegalRegister = 1u << 7;

}  // namespace tsvirt::vmm::apic
